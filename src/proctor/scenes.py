"""Old import path of ``proctor.kit.scenes``: notebooks and graders use it."""

import sys

from proctor.kit import scenes

sys.modules[__name__] = scenes
