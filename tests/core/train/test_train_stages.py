"""The four-stage schedule: the paper's values by default, overrides from TOML, clear errors."""
import pytest
import torch

from rvmatte.errors import InputError
from rvmatte.model import MattingNetwork
from rvmatte.train.stages import GROUPS, batch_kinds, load_schedule, param_groups


@pytest.fixture(scope="module")
def model():
    return MattingNetwork("mobilenetv3")


def test_default_schedule_is_the_papers_four_stages():
    schedule = load_schedule()
    assert [s.name for s in schedule.stages] == ["1", "2", "3", "4"]
    one, two, three, four = schedule.stages
    assert (one.matting, one.epochs, one.seq_length, one.size, one.refiner) == ("videomatte", 15, 15, (256, 512), False)
    assert one.lr == {"backbone": 1e-4, "aspp": 2e-4, "decoder": 2e-4, "refiner": 2e-4}
    assert (two.epochs, two.seq_length) == (2, 50)
    assert two.lr == {g: v / 2 for g, v in one.lr.items()}
    assert (three.epochs, three.seq_length, three.high_res.seq_length, three.high_res.size,
            three.high_res.downsample_ratio) == (1, 40, 6, (1024, 2048), 0.25)
    assert three.lr == {"backbone": 1e-5, "aspp": 1e-5, "decoder": 1e-5, "refiner": 2e-4}
    assert (four.matting, four.epochs) == ("imagematte", 5)
    assert four.lr == {**three.lr, "decoder": 5e-5}
    assert four.high_res == three.high_res


def test_param_groups_give_each_module_its_stage_learning_rate(model):
    stage = load_schedule().stage("4")
    groups = {g["name"]: g for g in param_groups(model, stage)}
    assert set(groups) == set(GROUPS)
    by_param = {id(p): g["lr"] for g in groups.values() for p in g["params"]}
    assert by_param[id(next(model.backbone.parameters()))] == 1e-5
    assert by_param[id(model.decoder.decode4.gru.ih[0].weight)] == 5e-5
    assert by_param[id(model.project_mat.conv.weight)] == 5e-5
    assert by_param[id(model.project_seg.conv.weight)] == 5e-5
    assert by_param[id(next(model.refiner.parameters()))] == 2e-4
    assert by_param[id(next(model.aspp.parameters()))] == 1e-5


def test_param_groups_cover_every_parameter_once(model):
    groups = param_groups(model, load_schedule().stage("1"))
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    torch.optim.Adam(groups)                           # Adam accepts them as they are


def test_segmentation_batches_follow_odd_then_even_matting_iterations():
    assert list(batch_kinds(4)) == ["matting", "image_segmentation", "matting", "video_segmentation",
                                    "matting", "image_segmentation", "matting", "video_segmentation"]


def test_resumed_batch_order_continues_where_it_stopped():
    full = list(batch_kinds(5))
    assert list(batch_kinds(5, start=3)) == full[6:]


def test_without_segmentation_only_matting_batches():
    assert list(batch_kinds(3, segmentation=False)) == ["matting"] * 3


def test_config_overrides_keep_the_rest_of_the_paper(tmp_path):
    config = tmp_path / "short.toml"
    config.write_text('[common]\nbatch_size = 2\n[stage.1]\nepochs = 1\nseq_length = 4\nsize = [64, 128]\n')
    schedule = load_schedule(str(config))
    one = schedule.stage("1")
    assert (schedule.batch_size, one.epochs, one.seq_length, one.size) == (2, 1, 4, (64, 128))
    assert one.lr["backbone"] == 1e-4 and schedule.stage("2").seq_length == 50


@pytest.mark.parametrize("body, words", [
    ('[stage.1]\nepochs = 0\n', "epochs must be a whole number >= 1"),
    ('[stage.2]\nsize = [512, 256]\n', "size must be [min, max]"),
    ('[stage.3]\nlr = { encoder = 1e-5 }\n', "lr needs exactly the groups"),
    ('[stage.1]\nmatting = "green"\n', "matting must be one of"),
    ('[stage.1]\nseq_lenght = 4\n', "unknown key 'seq_lenght'"),
    ('[stage.1\n', "is not valid TOML"),
])
def test_bad_config_is_one_line_naming_the_file_and_key(tmp_path, body, words):
    config = tmp_path / "bad.toml"
    config.write_text(body)
    with pytest.raises(InputError) as error:
        load_schedule(str(config))
    message = str(error.value)
    assert words in message and "bad.toml" in message and "\n" not in message


def test_unknown_stage_names_the_stages_there_are():
    with pytest.raises(InputError, match="no stage '5'.*1, 2, 3, 4"):
        load_schedule().stage("5")


def test_overriding_one_learning_rate_keeps_the_other_groups(tmp_path):
    config = tmp_path / "lr.toml"
    config.write_text("[stage.3]\nlr = { refiner = 1e-3 }\n")
    assert load_schedule(str(config)).stage("3").lr == {"backbone": 1e-5, "aspp": 1e-5, "decoder": 1e-5,
                                                        "refiner": 1e-3}
