"""The baseline controller: first come, first served.

The oldest container waiting at either yard goes to the nearest idle carrier, crane
tasks are served in the order they are asked for, each lane keeps a fixed direction
and blocks are released as soon as they are free: `SiteController`'s defaults.
"""

from __future__ import annotations

from controllers.site import SiteController


class FifoController(SiteController):
    name = "fifo"
