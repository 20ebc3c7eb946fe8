// What the face schedule is asked to do: cascades, sizes, budget, hold, equalisation, with the
// defaults measured on the project's own photos and clips (docs/detection.md).

/// How the schedule searches; the defaults are the measured ones (docs/detection.md).
public struct DetectionSettings: Sendable, Equatable {
    /// opencv-data's alt2 frontal cascade: on the dlib photos it finds more faces with fewer false
    /// ones than the default cascade (docs/detection.md).
    public static let defaultCascadePath = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
    /// The second cascade tried around a tracked face the first one misses.
    /// (opencv-data's profile cascade, run on the region and its mirror: it keeps turned heads
    /// with fewer false boxes than the default frontal cascade).
    public static let defaultConfirmCascadePath = "/usr/share/opencv4/haarcascades/haarcascade_profileface.xml"

    /// Haar cascade XML (nil: `defaultCascadePath`).
    public var cascadePath: String?
    /// Smallest face side to find, source pixels.
    public var minFace = 32
    /// OpenCV's minNeighbors for the full pass; higher = fewer false faces.
    public var minNeighbors = 3
    /// OpenCV's minNeighbors inside a track's region, where a face is expected.
    public var regionMinNeighbors = 3
    /// Pyramid step of the cascade, above 1 (stills and the passes around tracked faces).
    public var scaleFactor = 1.1
    /// Pyramid step of the video full pass (never finer than `scaleFactor`): it looks for faces not
    /// yet tracked, and a coarser step makes each look cheaper, so the whole frame is covered sooner.
    public var fullPassScaleFactor = 1.2
    /// Pyramid step inside a track's region (never finer than `scaleFactor`); where it finds nothing,
    /// the region is searched once more at `scaleFactor` (blurred faces show only on the finer step).
    public var regionScaleFactor = 1.2
    /// When to equalise the gray frame's histogram before the cascade.
    public var equalize = Equalization.auto

    /// Histogram equalisation: it finds faces in dim, flat light (stage footage) and adds false
    /// faces in well-lit pictures, so `auto` applies it only to low-contrast frames.
    public enum Equalization: String, Sendable, CaseIterable {
        case auto, on, off
    }
    /// Milliseconds of CPU each frame may spend on the full pass, on average (a slice dearer than
    /// that runs every few frames); nil runs all of it on every frame
    /// (still images, where every frame is a new picture: no region passes, no box smoothing).
    public var fullPassBudget: Double? = 6
    /// Width the full pass shrinks the frame to (0: as small as `minFace` allows; a still at
    /// full size when `fullPassBudget` is nil).
    public var detectWidth = 0
    /// A track's region: its box grown this many times about its centre.
    public var regionGrowth = 1.6
    /// Face side the region is scaled to before the cascade runs on it, pixels.
    public var regionFaceSide = 72
    /// A second cascade tried in a track's region when the main one finds nothing there (nil: none).
    public var confirmCascadePath: String? = DetectionSettings.defaultConfirmCascadePath
    /// Also run the confirming cascade on the mirrored region (profile cascades see one side only).
    public var confirmMirrored = true
    /// How faces are held and smoothed.
    public var tracker = TrackerSettings()

    public init() {}

    /// The cascade's search window (the default cascade's 24 px; alt2's is 20).
    static let windowSide = 24.0
    /// The full pass shrinks the frame so a `minFace` face is this many pixels. 32 (no shrinking
    /// at the default min-face) found two more dlib faces but added false boxes on the clips.
    static let smallestShrunkFace = 28.0
    /// The same for the full pass's larger-face bands, which cost a fraction of the first.
    static let largerBandsShrunkFace = 36.0

    /// Why these settings cannot be used, or nil.
    public var problem: String? {
        if minFace < 1 { return "minimum face size \(minFace) px: give a side of 1 px or more (e.g. 32)" }
        for factor in [scaleFactor, fullPassScaleFactor, regionScaleFactor] where !(factor > 1 && factor <= 3) {
            return "scale factor \(factor): give a number above 1 (e.g. 1.1)"
        }
        if minNeighbors < 0 || regionMinNeighbors < 0 { return "min neighbours \(minNeighbors): give 0 or more" }
        if let b = fullPassBudget, !(b > 0 && b.isFinite) { return "full-pass budget \(b) ms: give more than 0 ms" }
        if detectWidth < 0 { return "detect width \(detectWidth): give 0 (automatic) or a width in pixels" }
        if !(regionGrowth >= 1 && regionGrowth <= 4) { return "region growth \(regionGrowth): give 1...4" }
        if regionFaceSide < 24 { return "region face side \(regionFaceSide): give at least 24 px" }
        return tracker.problem
    }
}
