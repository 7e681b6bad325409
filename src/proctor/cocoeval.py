"""Old import path of ``proctor.kit.cocoeval``: notebooks and graders use it."""

import sys

from proctor.kit import cocoeval

sys.modules[__name__] = cocoeval
