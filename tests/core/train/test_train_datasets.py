"""Dataset readers: each public layout is read, and a layout that does not fit names its culprit."""
import json
import os

import numpy as np
import pytest

import tiny_sets
from tiny_sets import H, W
from rvmatte.train.datasets import (BackgroundImageDataset, BackgroundVideoDataset, CocoPersonDataset,
                                    DatasetLayoutError, ImageMatteDataset, PersonMaskDataset,
                                    VideoMatteDataset, YouTubeVISDataset, decode_rle)


def _one_line(error):
    return "\n" not in str(error.value)


def test_videomatte_reads_clips_of_foreground_and_alpha(tmp_path):
    data = VideoMatteDataset(tiny_sets.videomatte(tmp_path))
    fgr, pha = data.frames(1, [0, 2])
    assert len(data) == 2 and data.frame_count(0) == 3
    assert fgr.shape == (2, H, W, 3) and pha.shape == (2, H, W, 1)
    assert 0 <= pha.min() and pha.max() == 1


def test_videomatte_clip_without_alpha_names_the_clip(tmp_path):
    root = tiny_sets.videomatte(tmp_path)
    for f in (root / "pha" / "0001").iterdir():
        f.unlink()
    (root / "pha" / "0001").rmdir()
    with pytest.raises(DatasetLayoutError) as error:
        VideoMatteDataset(root)
    assert os.path.join("fgr", "0001") in str(error.value) and "no partner" in str(error.value) and _one_line(error)


def test_videomatte_frame_without_alpha_names_the_frame(tmp_path):
    root = tiny_sets.videomatte(tmp_path)
    (root / "pha" / "0000" / "00001.png").unlink()
    with pytest.raises(DatasetLayoutError, match=r"fgr.0000.00001\.png has no partner"):
        VideoMatteDataset(root)


def test_videomatte_without_fgr_folder_says_which_folder(tmp_path):
    (tmp_path / "pha").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"missing folder .*fgr"):
        VideoMatteDataset(tmp_path)


@pytest.mark.parametrize("fg, alpha", [("fg", "alpha"), ("FG", "GT")])
def test_image_matting_reads_adobe_and_distinctions_layouts(tmp_path, fg, alpha):
    data = ImageMatteDataset(tiny_sets.imagematte(tmp_path, fg, alpha))
    image, matte = data.sample(2)
    assert len(data) == 3 and image.shape == (H, W, 3) and matte.shape == (H, W, 1)


def test_image_matting_extra_alpha_names_the_orphan(tmp_path):
    root = tiny_sets.imagematte(tmp_path)
    (root / "alpha" / "im1.png").rename(root / "alpha" / "im9.png")
    with pytest.raises(DatasetLayoutError, match=r"im1\.png has no partner"):
        ImageMatteDataset(root)


def test_image_matting_wrong_layout_names_the_expected_folders(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"neither fg/ \+ alpha/ nor FG/ \+ GT/"):
        ImageMatteDataset(tmp_path)


def test_backgrounds_read_as_clips_and_images(tmp_path):
    videos = BackgroundVideoDataset(tiny_sets.background_videos(tmp_path / "v"))
    images = BackgroundImageDataset(tiny_sets.background_images(tmp_path / "i"))
    assert videos.frames(1, [0, 1, 2]).shape == (3, H, W, 3) and images.sample(1).shape == (H, W, 3)


def test_background_clip_without_frames_is_named(tmp_path):
    root = tiny_sets.background_videos(tmp_path)
    (root / "clip9").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"no frames in .*clip9"):
        BackgroundVideoDataset(root)


def test_rle_counts_are_column_major_starting_with_zeros():
    assert decode_rle([1, 2, 1], 2, 2).tolist() == [[0, 1], [1, 0]]


def test_compressed_rle_string_decodes_like_its_counts():
    # "324O" is [3, 2, 4, 1] (the last a delta of -1 against counts[1]); "X1" is [40]
    assert np.array_equal(decode_rle("324O", 2, 5), decode_rle([3, 2, 4, 1], 2, 5))
    assert decode_rle("X1", 5, 8).sum() == 0 and decode_rle([40], 5, 8).shape == (5, 8)


def test_coco_keeps_person_instances_and_decodes_polygons_and_rle(tmp_path):
    root = tiny_sets.coco(tmp_path)
    data = CocoPersonDataset(root / "annotations" / "instances_train2017.json", root / "train2017")
    image, mask = data.sample(0)
    assert len(data) == 2 and image.shape == (H, W, 3)
    assert mask[8, 8, 0] == 1 and mask[1, 1, 0] == 0            # the dog's triangle is not a person
    assert np.array_equal(data.sample(1)[1][:, :, 0].sum(axis=0) > 0, np.arange(W) == 2)


def test_coco_missing_image_names_the_file(tmp_path):
    root = tiny_sets.coco(tmp_path)
    (root / "train2017" / "000000000001.png").unlink()
    with pytest.raises(DatasetLayoutError, match=r"missing image .*000000000001\.png \(image 2\)"):
        CocoPersonDataset(root / "annotations" / "instances_train2017.json", root / "train2017")


def test_coco_json_without_person_category_says_so(tmp_path):
    root = tiny_sets.coco(tmp_path)
    path = root / "annotations" / "instances_train2017.json"
    data = json.loads(path.read_text())
    data["categories"] = [{"id": 1, "name": "people"}]
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetLayoutError, match="has no 'person' category"):
        CocoPersonDataset(path, root / "train2017")


def test_broken_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "instances.json"
    path.write_text('{"images": [\n')
    (tmp_path / "img").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"instances\.json is not valid JSON .*line"):
        CocoPersonDataset(path, tmp_path / "img")


def test_youtubevis_reads_person_masks_per_frame(tmp_path):
    data = YouTubeVISDataset(tiny_sets.youtubevis(tmp_path))
    frames, masks = data.frames(0, [0, 1, 2])
    assert frames.shape == (3, H, W, 3) and masks.shape == (3, H, W, 1)
    assert masks[0, 8, 8, 0] == 1 and masks[1].sum() == 0 and masks[2, :, 2, 0].all()


def test_youtubevis_missing_frame_names_it(tmp_path):
    root = tiny_sets.youtubevis(tmp_path)
    (root / "JPEGImages" / "vid0" / "00002.png").unlink()
    with pytest.raises(DatasetLayoutError, match=r"missing frame .*vid0.00002\.png \(video 1\)"):
        YouTubeVISDataset(root)


def test_youtubevis_without_annotations_says_which_files_it_looked_for(tmp_path):
    (tmp_path / "JPEGImages").mkdir()
    with pytest.raises(DatasetLayoutError, match="no instances.json or train.json"):
        YouTubeVISDataset(tmp_path)


def test_person_masks_pair_images_and_masks_by_stem(tmp_path):
    root = tiny_sets.person_masks(tmp_path)
    image, mask = PersonMaskDataset(root).sample(1)
    assert image.shape == (H, W, 3) and set(np.unique(mask)) <= {0.0, 1.0} and mask.sum() > 0


def test_person_image_without_mask_is_named(tmp_path):
    root = tiny_sets.person_masks(tmp_path)
    (root / "masks" / "p1.png").unlink()
    with pytest.raises(DatasetLayoutError, match=r"img.p1\.png has no partner"):
        PersonMaskDataset(root)
