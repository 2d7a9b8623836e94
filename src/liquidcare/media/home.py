"""Where prepared media files live: `$LIQUIDCARE_HOME/media`.

The rule is the same as `liquidcare.models.liquidcare_home` (`$LIQUIDCARE_HOME`, else
`~/.cache/liquidcare`), repeated here because `media/` imports nothing else of ours (DESIGN.md).
"""

from __future__ import annotations

import os
from pathlib import Path


def media_home() -> Path:
    env = os.environ.get("LIQUIDCARE_HOME")
    home = Path(env).expanduser() if env else Path.home() / ".cache" / "liquidcare"
    return home / "media"
