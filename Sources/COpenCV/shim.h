// Intentionally empty: this module exists so that pkg-config's opencv4 flags reach COpenCVShim.
