"""The detection scoring in measure_detection.py: IoU matching, coverage over visible faces only,
id switches counted per face, held boxes and false boxes."""
import measure_detection as md


def truth(frames, width=100, height=100, fps=30):
    return {"fps": fps, "width": width, "height": height, "frames": frames}


def face(k, box):
    return {"face": k, "box": box}


def found(i, faces):
    return {"frame": i, "faces": [{"id": fid, "box": box, "held": held} for fid, box, held in faces]}


def test_match_needs_iou_half_and_pairs_each_box_once():
    assert md.iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1
    assert md.match([[0, 0, 10, 10]], [[5, 0, 10, 10]]) == {}  # IoU 1/3
    assert md.match([[0, 0, 10, 10], [1, 0, 10, 10]], [[0, 0, 10, 10]]) == {0: 0}


def test_coverage_switches_and_false_boxes():
    t = truth([[face(0, [10, 10, 20, 20])]] * 4 + [[face(0, [10, 10, 20, 20]), face(1, [95, 50, 20, 20])]])
    lines = [found(0, []),                                                  # missed
             found(1, [(1, [10, 10, 20, 20], False)]),
             found(2, [(1, [11, 10, 20, 20], True)]),                         # held, still boxed
             found(3, [(2, [10, 10, 20, 20], False), (3, [60, 60, 20, 20], False)]),  # id switch, 1 false
             found(4, [(2, [10, 10, 20, 20], False), (4, [95, 50, 20, 20], False)])]  # face 1 only 25% inside
    s = md.score_clip(t, lines)
    assert s["coverage"] == 4 / 5
    assert s["after_first"] == 1.0
    assert s["switches"] == 1
    assert s["false_per_frame"] == 1 / 5, "a box on a face mostly out of frame is not false"
    assert s["held_share"] == 1 / 4
    assert s["switches_per_face_min"] == 1 / (5 / 30 / 60)
