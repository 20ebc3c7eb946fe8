"""report.py's table of how each model was trained names the epoch the shipped file was exported
from: the best epoch of the model's last round, not the best epoch of its whole log."""
import report


def row(epoch, val_acc, stage=None):
    r = {"epoch": epoch, "val_acc": val_acc}
    if stage is not None:
        r["stage"] = stage
    return r


def test_the_shipped_epoch_is_the_last_rounds_best_even_if_an_earlier_round_scored_higher():
    log = [row(1, 0.60), row(2, 0.6704, "round 10"), row(3, 0.6684, "round 10"),
           row(4, 0.6665, "round 14"), row(5, 0.6701, "round 14"), row(6, 0.6690, "round 14")]
    assert report.shipped_epoch(log) == 5


def test_a_log_of_one_run_ships_its_best_epoch():
    log = [row(1, 0.60), row(2, 0.674), row(3, 0.668)]
    assert report.shipped_epoch(log) == 2
