"""Long text as panel labels: a label is one line, cut off at the region's edge, so messages (a worker's
error naming a path, a Check fix) are wrapped to the width of the region they are drawn in."""

import textwrap

CHAR_PIXELS = 7          # about the width of a character of Blender's UI font at UI scale 1
MARGIN_PIXELS = 50       # the icon and the panel's margins
FALLBACK_PIXELS = 300    # no region (drawn outside a panel, bpy in background mode): a sidebar's width
MIN_CHARACTERS = 20


def characters(context):
    """How many characters fit on a label line of the region being drawn."""
    region = getattr(context, "region", None)
    width = getattr(region, "width", 0) or FALLBACK_PIXELS
    try:
        scale = context.preferences.system.ui_scale or 1.0
    except AttributeError:
        scale = 1.0
    return max(MIN_CHARACTERS, int((width - MARGIN_PIXELS) / (CHAR_PIXELS * scale)))


def wrapped(text, width):
    """The lines of `text` (its own line breaks kept), each at most `width` characters; long words
    such as paths are broken too."""
    lines = []
    for paragraph in str(text).splitlines() or [""]:
        indent = paragraph[:len(paragraph) - len(paragraph.lstrip())]
        lines += textwrap.wrap(paragraph, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return lines


def draw(layout, text, context, icon=None):
    """`text` as labels wrapped to the region, the icon on the first line; returns the first line's row
    (for a button after it)."""
    first = None
    for number, line in enumerate(wrapped(text, characters(context))):
        row = layout.row()
        if number == 0 and icon:
            row.label(text=line, icon=icon)
        else:
            row.label(text=line)
        first = first or row
    return first
