"""Public path of the variant registry: `from harness.registry import register_variant`.

The registry lives with the networks it builds (harness.models.registry); this module keeps the documented
import path of the decorator and of the lookups a plugin or a notebook uses.
"""

from harness.models.registry import (
    ENTRY_POINT_GROUP,
    build_config,
    description,
    list_variants,
    load_plugins,
    register_variant,
)

__all__ = ["ENTRY_POINT_GROUP", "build_config", "description", "list_variants", "load_plugins", "register_variant"]
