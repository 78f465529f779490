"""gpupager's ComfyUI node pack: copy or link this folder into
ComfyUI/custom_nodes/ (and `pip install` the gpupager package into
ComfyUI's Python).  See README.md, "Python"."""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
