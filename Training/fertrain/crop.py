"""Where a face detector's box sits inside a FER-2013 crop, and the inverse: the FER-like square
crop to take around a detector's box.

Geometry (x_off, y_off, scale): the box's top-left corner and side as fractions of the FER crop's
side, measured from the crop's top-left corner. A box (bx, by, side) then maps to the crop
    crop_side = side / scale,  crop_x = bx - x_off * crop_side,  crop_y = by - y_off * crop_side.
"""
import numpy as np


def relative_box(box, crop_x, crop_y, crop_side):
    """(x_off, y_off, scale) of a square box (x, y, side) inside the crop at (crop_x, crop_y)."""
    x, y, side = box
    return ((x - crop_x) / crop_side, (y - crop_y) / crop_side, side / crop_side)


def crop_from_box(box, geometry):
    """The FER-like square crop (x, y, side), floats, for a detector box (x, y, side)."""
    x, y, side = box
    x_off, y_off, scale = geometry
    crop_side = side / scale
    return (x - x_off * crop_side, y - y_off * crop_side, crop_side)


def box_from_crop(crop, geometry):
    """Where the detector's box would sit for a FER crop (x, y, side): the inverse of crop_from_box."""
    cx, cy, crop_side = crop
    x_off, y_off, scale = geometry
    return (cx + x_off * crop_side, cy + y_off * crop_side, scale * crop_side)


def as_centre_form(geometry):
    """The same geometry as fertui would apply it to a box of side s centred at (bcx, bcy):
    crop side = s * side_factor, crop centre = (bcx + dx * s, bcy + dy * s). Returns
    (side_factor, dx, dy); margin per edge for a centred crop is (side_factor - 1) / 2."""
    x_off, y_off, scale = geometry
    side_factor = 1 / scale
    dx = (0.5 - x_off - scale / 2) / scale
    dy = (0.5 - y_off - scale / 2) / scale
    return side_factor, dx, dy


def from_centre_form(side_factor, dx, dy):
    """(x_off, y_off, scale) from the centre form: the inverse of as_centre_form."""
    scale = 1 / side_factor
    return (0.5 - scale / 2 - dx * scale, 0.5 - scale / 2 - dy * scale, scale)


def integer_crop(crop, width, height):
    """The float crop rounded to whole pixels (square, side >= 1), clipped to the image:
    (x0, y0, x1, y1)."""
    x, y, side = crop
    s = max(1, int(round(side)))
    x0, y0 = int(round(x)), int(round(y))
    return max(0, x0), max(0, y0), min(width, x0 + s), min(height, y0 + s)


def summary(values):
    """Median and interquartile range (25th, 75th percentile) of a 1-D sample."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.median(v)), float(np.percentile(v, 25)), float(np.percentile(v, 75))
