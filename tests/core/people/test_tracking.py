"""Labelling one frame's regions (rvmatte.people.tracking)."""
import numpy as np
import pytest

pytest.importorskip("cv2", reason="the people pass needs opencv-python-headless")

from rvmatte.people.tracking import Labeller  # noqa: E402


def test_people_n_names_no_speck_a_person():
    """On the real juggling clip a stray speck left of the person became person1 and the person person2."""
    alpha = np.zeros((144, 256), np.float32)
    alpha[20:140, 150:200] = 1.0                      # the person
    alpha[70:72, 10:12] = 0.3                         # a speck to their left
    labels = Labeller(2, others=False).label(alpha, np.zeros((144, 256, 3), np.uint8), None, first=True)
    assert np.all(labels[20:140, 150:200] == 1)
    assert not np.any(labels == 2)
