"""Draw the README pictures of the panel and of the node tree from what the add-on really builds.

bpy in background mode cannot take screenshots, so the pictures are diagrams:

    .venv-blender5/bin/python blender_addon/tools/docs_images.py dump layout.json
    .venv/bin/python blender_addon/tools/docs_images.py draw layout.json docs/images

`dump` installs the built add-on into a throw-away Blender user folder, wires
synthetic passes (flat test images, no footage) into a new compositor, records
the node positions, sockets and links, and records the panel by running its
real draw function against a layout that writes down each row. `draw` renders
both with matplotlib.
"""

import json
import os
import sys
import tempfile


# ---------------------------------------------------------------- dump (bpy)

class _OperatorProperties:
    """What `layout.operator()` returns: the button's operator properties, recorded as they are set."""

    def __init__(self, properties):
        object.__setattr__(self, "_properties", properties)

    def __setattr__(self, name, value):
        self._properties[name] = value


class RecordingLayout:
    """Stands in for bpy's UILayout: records the rows the panel's draw function asks for."""

    def __init__(self, rows, depth=0, active=True):
        self.rows, self.depth, self._active = rows, depth, active
        self.use_property_split = self.use_property_decorate = False
        self.scale_y = 1.0
        self.enabled = True

    @property
    def active(self):
        return self._active

    @active.setter
    def active(self, value):
        self._active = value

    def _child(self, *args, **kwargs):
        return RecordingLayout(self.rows, self.depth, self._active)

    row = column = box = split = _child

    def prop(self, data, name, text=None, **_):
        import bpy

        rna = data.bl_rna.properties[name]
        value = getattr(data, name)
        if rna.type == "ENUM":
            shown = rna.enum_items[value].name
        elif rna.type == "POINTER":
            shown = value.name if value is not None else ""
        elif rna.type == "FLOAT" and getattr(rna, "is_array", False):
            shown = ", ".join(f"{v:.3f}" for v in value)
        elif rna.type == "FLOAT":
            shown = f"{value:.3f}"
        else:
            shown = value
        self.rows.append({"kind": rna.type.lower(), "label": text if text is not None else rna.name,
                          "value": shown, "active": self._active and self.enabled})

    def prop_search(self, data, name, _coll, _coll_name, text=None, **_):
        self.prop(data, name, text=text)

    def template_ID(self, data, name, text=None, **_):
        self.prop(data, name, text=text)

    def operator(self, idname, text=None, icon=None, **_):
        import bpy

        if text == "" and icon and self.rows:
            self.rows[-1]["button"] = icon  # an icon-only button at the end of the row before
            return _OperatorProperties({})
        module, op = idname.split(".")
        label = text if text is not None else getattr(getattr(bpy.ops, module), op).get_rna_type().name
        row = {"kind": "operator", "label": label, "icon": icon or "", "active": self.enabled,
               "operator": idname, "properties": {}}
        self.rows.append(row)
        return _OperatorProperties(row["properties"])

    def progress(self, factor=0.0, text="", **_):
        self.rows.append({"kind": "progress", "factor": factor, "label": text})

    def label(self, text="", icon=None, **_):
        self.rows.append({"kind": "label", "label": text, "icon": icon or ""})


class _WithLayout:
    """The preferences, drawn into another layout."""

    def __init__(self, target, layout):
        self._target, self.layout = target, layout

    def __getattr__(self, name):
        return getattr(self._target, name)


def _synthetic_sequence(folder, stem, frames, premultiplied_matte=False):
    import bpy
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    settings = bpy.context.scene.render.image_settings
    settings.file_format, settings.color_mode, settings.color_depth = "OPEN_EXR", "RGBA", "32"
    for frame in frames:
        image = bpy.data.images.new(stem, 16, 9, alpha=True, float_buffer=True)
        pixels = np.full((9, 16, 4), 0.5, np.float32)
        image.pixels.foreach_set(pixels.ravel())
        image.save_render(os.path.join(folder, f"{stem}.{frame:04d}.exr"), scene=bpy.context.scene)
        bpy.data.images.remove(image)
    return os.path.join(folder, f"{stem}.{frames[0]:04d}.exr")


def dump(out_path):
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="rvmatte_docs_user_")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import bpy

    import build

    work = tempfile.mkdtemp(prefix="rvmatte_docs_")
    package = build.build(os.path.join(work, "dist"))
    bpy.ops.extensions.package_install_files(filepath=package, repo="user_default", enable_on_install=True)
    addon = sys.modules["bl_ext.user_default.rvmatte"]
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(work, "sh010_comp.blend"))

    plate = _synthetic_sequence(os.path.join(work, "plates"), "sh010_plate", range(1001, 1004))
    clip = bpy.data.movieclips.load(plate)
    clip.name = "sh010_plate"
    scene = bpy.context.scene
    scene.rvmatte.clip = clip
    garbage = bpy.data.images.load(_synthetic_sequence(os.path.join(work, "roto"), "sh010_garbage", [1]))
    garbage.name = "sh010_garbage"
    scene.rvmatte.garbage = garbage
    source = addon.sources.from_clip(clip)
    passes = os.path.join(work, "rvmatte", "sh010_plate", "v001")      # a first version, complete
    alpha = _synthetic_sequence(passes, "sh010_plate.alpha", range(1001, 1004))
    fgr = _synthetic_sequence(passes, "sh010_plate.fgr", range(1001, 1004))
    with open(os.path.join(passes, "rvmatte-version.json"), "w") as handle:
        json.dump({"key": "0" * 16, "state": "complete", "frames": "1001-1003", "fields": {},
                   "created": "2026-12-04T10:00:00.000000Z", "updated": "2026-12-04T10:00:00.000000Z"}, handle)
    nodes = addon.compositor.wire_matte(scene, source, alpha, fgr, 1001, 1003)
    tree = addon.compositor.compositor_tree(scene)
    background = tree.nodes.new("CompositorNodeRGB")
    background.label = "Background"
    background.location = nodes["source"].location.x, nodes["source"].location.y - 950
    tree.links.new(background.outputs[0], nodes["group"].inputs["Background"])

    def visible(sockets):
        return [s for s in sockets if s.enabled and not s.hide and s.name]

    def tree_dict(node_tree):
        return {
            "nodes": [{"name": n.name, "title": n.label or n.bl_label, "type": n.bl_idname,
                       "x": n.location.x, "y": n.location.y, "width": n.width,
                       "inputs": [s.name for s in visible(n.inputs)],
                       "outputs": [s.name for s in visible(n.outputs)],
                       "image": n.image.name if getattr(n, "image", None) else
                                (n.clip.name if getattr(n, "clip", None) else ""),
                       "colorspace": n.image.colorspace_settings.name if getattr(n, "image", None) else "",
                       "alpha_mode": n.image.alpha_mode if getattr(n, "image", None) else "",
                       "frames": [n.frame_start, n.frame_offset, n.frame_duration]
                                 if n.bl_idname == "CompositorNodeImage" else None}
                      for n in node_tree.nodes],
            "links": [[l.from_node.name, l.from_socket.name, l.to_node.name, l.to_socket.name,
                       visible(l.from_node.outputs).index(l.from_socket),
                       visible(l.to_node.inputs).index(l.to_socket)]
                      for l in node_tree.links],
        }

    # a job in flight, so the panel shows its progress bar
    job = addon.jobs.start([sys.executable, "-c",
                            "import json, time\n"
                            "print(json.dumps({'event': 'start', 'frames': 48, 'first': 1001, 'last': 1048, "
                            "'device': 'cuda'}), flush=True)\n"
                            "print(json.dumps({'event': 'frame', 'frame': 1017, 'done': 17, 'total': 48, "
                            "'fps': 21.4}), flush=True)\n"
                            "time.sleep(30)\n"], label="sh010_plate")
    addon.operators.scene_jobs[addon.operators.scene_key(scene)] = job
    while job.done < 17:
        job.poll()
    rows = []
    addon.panels.draw_settings(RecordingLayout(rows), bpy.context)
    addon.jobs.stop_all()

    prefs_rows = []
    prefs = bpy.context.preferences.addons["bl_ext.user_default.rvmatte"].preferences
    prefs.worker = "/opt/rvmatte/.venv/bin/python"
    type(prefs).draw(_WithLayout(prefs, RecordingLayout(prefs_rows)), bpy.context)
    group = nodes["group"].node_tree
    with open(out_path, "w") as handle:
        json.dump({"blender": bpy.app.version_string, "tree": tree_dict(tree), "group": tree_dict(group),
                   "panel": rows, "preferences": prefs_rows}, handle, indent=1)
    print(out_path)


# ---------------------------------------------------------------- draw (matplotlib)

THEME = {"bg": "#1d1d1d", "panel": "#303030", "field": "#545454", "text": "#e6e6e6", "dim": "#8c8c8c",
         "button": "#4772b3", "bar": "#4772b3", "node": "#3d3d3d", "link": "#b0b0b0",
         "header": {"CompositorNodeImage": "#83314a", "CompositorNodeMovieClip": "#83314a",
                    "CompositorNodeRGB": "#83314a", "CompositorNodeGroup": "#3b5959",
                    "NodeGroupOutput": "#4d0017", "CompositorNodeComposite": "#4d0017",
                    "NodeGroupInput": "#4d0017"}}
SOCKET_COLOURS = {"Alpha": "#a1a1a1", "Factor": "#a1a1a1"}


def _node_geometry(node):
    rows = len(node["outputs"]) + len(node["inputs"]) + (2 if node["image"] else 0)
    height = 30 + 22 * rows + 10
    return node["x"], node["y"], node["width"], height


def draw_tree(tree, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    from matplotlib.path import Path as MPath
    from matplotlib.patches import PathPatch

    boxes = {n["name"]: _node_geometry(n) for n in tree["nodes"]}
    xs = [x for x, y, w, h in boxes.values()] + [x + w for x, y, w, h in boxes.values()]
    ys = [y for x, y, w, h in boxes.values()] + [y - h for x, y, w, h in boxes.values()]
    pad = 60
    fig_w, fig_h = (max(xs) - min(xs) + 2 * pad) / 100, (max(ys) - min(ys) + 2 * pad + 40) / 100
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110, facecolor=THEME["bg"])
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad, max(ys) + pad + 40)
    ax.set_facecolor(THEME["bg"])
    ax.axis("off")
    sockets = {}
    for node in tree["nodes"]:
        x, y, w, h = boxes[node["name"]]
        ax.add_patch(FancyBboxPatch((x, y - h), w, h, boxstyle="round,pad=0,rounding_size=6",
                                    fc=THEME["node"], ec="#111111", lw=1))
        ax.add_patch(FancyBboxPatch((x, y - 26), w, 26, boxstyle="round,pad=0,rounding_size=6",
                                    fc=THEME["header"].get(node["type"], "#555555"), ec="#111111", lw=1))
        ax.text(x + 10, y - 13, node["title"], color=THEME["text"], va="center", fontsize=9, weight="bold")
        row_y = y - 26 - 18
        for i, name in enumerate(node["outputs"]):
            ax.text(x + w - 12, row_y, name, color=THEME["text"], ha="right", va="center", fontsize=8)
            sockets[(node["name"], "out", i)] = (x + w, row_y)
            ax.plot([x + w], [row_y], "o", ms=6, color=SOCKET_COLOURS.get(name, "#c7c729"), mec="#111111")
            row_y -= 22
        if node["image"]:
            detail = node["image"]
            if node["colorspace"]:
                detail += f"  ·  {node['colorspace']}"
            if node["alpha_mode"] == "PREMUL":
                detail += "  ·  premultiplied"
            ax.add_patch(FancyBboxPatch((x + 8, row_y - 8), w - 16, 17, boxstyle="round,pad=0,rounding_size=3",
                                        fc=THEME["field"], ec="none"))
            ax.text(x + 14, row_y, detail, color=THEME["text"], va="center", fontsize=7)
            row_y -= 22
            if node["frames"]:
                start, offset, duration = node["frames"]
                ax.text(x + 14, row_y, f"Start {start}  Offset {offset}  Frames {duration}",
                        color=THEME["dim"], va="center", fontsize=7)
            row_y -= 22
        for i, name in enumerate(node["inputs"]):
            ax.text(x + 12, row_y, name, color=THEME["text"], va="center", fontsize=8)
            sockets[(node["name"], "in", i)] = (x, row_y)
            ax.plot([x], [row_y], "o", ms=6, color=SOCKET_COLOURS.get(name, "#c7c729"), mec="#111111")
            row_y -= 22
    for from_node, _fs, to_node, _ts, out_index, in_index in tree["links"]:
        start = sockets.get((from_node, "out", out_index))
        end = sockets.get((to_node, "in", in_index))
        if start is None or end is None:
            continue
        bend = max(60, abs(end[0] - start[0]) / 2)
        curve = MPath([start, (start[0] + bend, start[1]), (end[0] - bend, end[1]), end],
                      [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4])
        ax.add_patch(PathPatch(curve, fc="none", ec=THEME["link"], lw=1.4, zorder=0))
    ax.text(min(xs) - pad + 10, max(ys) + pad + 20, title, color=THEME["dim"], fontsize=8, va="center")
    fig.savefig(path, facecolor=THEME["bg"])
    plt.close(fig)


def draw_panel(rows, path, title, caption, width=420):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Rectangle

    line = 26
    height = 60 + line * len(rows) + 40
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=110, facecolor=THEME["bg"])
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((8, 8), width - 16, height - 16, boxstyle="round,pad=0,rounding_size=6",
                                fc=THEME["panel"], ec="none"))
    ax.text(20, height - 28, title, color=THEME["text"], fontsize=9, weight="bold", va="center")
    y = height - 60
    split = width * 0.42
    for row in rows:
        colour = THEME["text"] if row.get("active", True) else THEME["dim"]
        kind = row["kind"]
        if kind == "operator":
            ax.add_patch(FancyBboxPatch((20, y - 10), width - 40, 21, boxstyle="round,pad=0,rounding_size=4",
                                        fc=THEME["button"] if row["active"] else THEME["field"], ec="none"))
            ax.text(width / 2, y, row["label"], color=colour, ha="center", va="center", fontsize=8)
        elif kind == "progress":
            ax.add_patch(Rectangle((20, y - 9), width - 40, 18, fc=THEME["field"], ec="none"))
            ax.add_patch(Rectangle((20, y - 9), (width - 40) * row["factor"], 18, fc=THEME["bar"], ec="none"))
            ax.text(width / 2, y, row["label"], color=THEME["text"], ha="center", va="center", fontsize=7.5)
        elif kind == "label":
            ax.text(24, y, row["label"], color=THEME["dim"], va="center", fontsize=7.5)
        elif kind == "boolean":
            mark = "☑" if row["value"] else "☐"
            ax.text(split + 8, y, f"{mark}  {row['label']}", color=colour, va="center", fontsize=8)
        else:
            ax.text(split - 8, y, row["label"], color=colour, ha="right", va="center", fontsize=8)
            ax.add_patch(FancyBboxPatch((split, y - 10), width - split - 20, 20,
                                        boxstyle="round,pad=0,rounding_size=4", fc=THEME["field"], ec="none"))
            text = str(row["value"])
            if len(text) > 34:
                text = "…" + text[-33:]
            ax.text(split + 8, y, text, color=colour, va="center", fontsize=8)
        if row.get("button"):
            ax.add_patch(FancyBboxPatch((width - 44, y - 10), 24, 20, boxstyle="round,pad=0,rounding_size=4",
                                        fc=THEME["field"], ec="#222222"))
            ax.text(width - 32, y, "×" if row["button"] == "CANCEL" else "⌖", color=THEME["text"],
                    ha="center", va="center", fontsize=10)
        y -= line
    ax.text(20, 22, caption, color=THEME["dim"], fontsize=6.5, va="center")
    fig.savefig(path, facecolor=THEME["bg"])
    plt.close(fig)


def draw(layout_path, out_dir):
    with open(layout_path) as handle:
        layout = json.load(handle)
    os.makedirs(out_dir, exist_ok=True)
    version = layout["blender"]
    draw_panel(layout["panel"], os.path.join(out_dir, "blender_panel.png"), "RVMatte  ›  Generate Matte",
               f"Diagram of the panel's rows (Blender {version}), not a screenshot")
    draw_tree(layout["tree"], os.path.join(out_dir, "blender_node_tree.png"),
              f"Compositor after Generate Matte (diagram from the node positions and links in Blender {version}; "
              "synthetic source)")
    draw_tree(layout["group"], os.path.join(out_dir, "blender_node_group.png"),
              "Inside the RVMatte node group")
    if layout.get("preferences"):
        draw_panel(layout["preferences"], os.path.join(out_dir, "blender_preferences.png"),
                   "Preferences  ›  Add-ons  ›  RVMatte",
                   f"Diagram of the preference rows (Blender {version}), not a screenshot", width=620)

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("dump", "draw"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        draw(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "docs/images")
