"""Old import path of ``proctor.kit.datasets``: notebooks and graders use it."""

import sys

from proctor.kit import datasets

sys.modules[__name__] = datasets
