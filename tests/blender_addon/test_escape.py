"""Esc cancels the matte only over the add-on's own panel; anywhere else it is Blender's."""
from types import SimpleNamespace as NS

import pytest


def region(kind, x, y, w, h):
    return NS(type=kind, x=x, y=y, width=w, height=h)


@pytest.fixture
def areas():
    node_editor = NS(type="NODE_EDITOR", regions=[region("WINDOW", 0, 0, 800, 600), region("UI", 800, 0, 200, 600)])
    timeline = NS(type="DOPESHEET_EDITOR", regions=[region("UI", 0, 600, 1000, 100)])
    image = NS(type="IMAGE_EDITOR", regions=[region("UI", 1000, 0, 200, 700)])
    return [node_editor, timeline, image]


def test_esc_over_the_compositor_sidebar_is_for_the_panel(installed, areas):
    assert installed.operators.esc_is_for_panel(areas, 850, 300)


@pytest.mark.parametrize("x, y", [(400, 300), (500, 650), (1100, 300), (5000, 5000)])
def test_esc_anywhere_else_is_passed_on(installed, areas, x, y):
    assert not installed.operators.esc_is_for_panel(areas, x, y)


def test_esc_over_the_node_editor_canvas_does_not_cancel_the_job(installed, areas, monkeypatch):
    op_class = installed.operators.RVMATTE_OT_generate
    cancelled = []
    job = NS(running=True, cancel=lambda: cancelled.append(True))
    fake_self = NS(job=job, _timer=None, _end=lambda context: None)
    context = NS(window=NS(screen=NS(areas=areas)))
    event = NS(type="ESC", value="PRESS", mouse_x=400, mouse_y=300)
    assert op_class.modal(fake_self, context, event) == {"PASS_THROUGH"}
    assert not cancelled
    event.mouse_x = 850
    assert op_class.modal(fake_self, context, event) == {"FINISHED"}
    assert cancelled == [True]
