// The face-detection options `monitor`, `predict` and `detect` share, parsed and documented once,
// and the scheduled detector they build.

import Foundation
import Vision

enum DetectionOptions {
    /// The options' lines for a command's --help.
    static let help = """
          --cascade FILE      Haar cascade XML (default: \(DetectionSettings.defaultCascadePath))
          --min-face N        smallest face side to find, source pixels (default 32)
          --min-neighbors N   cascade hits needed to keep a face; higher = fewer false faces (default 3)
          --scale-factor X    cascade pyramid step, above 1 (default 1.1; 1.2 is about twice as fast);
                              on video the full-frame search steps by 1.2 or this, the larger
          --detect-width N    shrink frames to N px wide for the full-frame search (default 0: as
                              small as --min-face allows; predict: full size)
          --detect-budget MS  milliseconds per frame the full-frame search may take; it is spread
                              over frames to fit (default \(defaultBudget); images: the whole search each frame)
          --hold S            seconds a face that is not found stays boxed, marked held, at its
                              expected place (default 0.5; 0: never held)
          --equalize MODE     histogram equalisation of the gray frame: auto (low-contrast
                              frames only), on or off (default auto)
          --confirm FILE|none second cascade tried around a tracked face the first one misses
                              (default: \(DetectionSettings.defaultConfirmCascadePath))
        """

    private static let defaultBudget = DetectionSettings().fullPassBudget.map { String(format: "%g", $0) } ?? "none"

    static let valueOptions: Set<String> = [
        "--cascade", "--min-face", "--min-neighbors", "--scale-factor",
        "--detect-width", "--detect-budget", "--hold", "--confirm", "--equalize",
    ]

    /// Reads the shared options. `stills`: every frame is a new picture (images, `predict`): the
    /// whole search runs on each, nothing is held.
    static func parse(_ args: inout Arguments, stills: Bool) throws -> DetectionSettings {
        var s = DetectionSettings()
        s.cascadePath = try args.value("--cascade")
        s.minFace = try args.int("--min-face", default: s.minFace, in: 1...10_000)
        s.minNeighbors = try args.int("--min-neighbors", default: s.minNeighbors, in: 0...100)
        s.regionMinNeighbors = min(s.regionMinNeighbors, s.minNeighbors)
        s.scaleFactor = try args.double("--scale-factor", default: s.scaleFactor, in: 1.001...3)
        s.detectWidth = try args.int("--detect-width", default: 0, in: 0...100_000)
        let budget = try args.double("--detect-budget", default: s.fullPassBudget ?? 6, in: 0.1...10_000)
        s.fullPassBudget = stills ? nil : budget
        s.tracker.hold = try args.double("--hold", default: stills ? 0 : s.tracker.hold, in: 0...60)
        let equalize = try args.value("--equalize") ?? s.equalize.rawValue
        guard let mode = DetectionSettings.Equalization(rawValue: equalize) else {
            throw UsageError(message: "--equalize \(equalize): expected auto, on or off")
        }
        s.equalize = mode
        let confirm = try args.value("--confirm") ?? DetectionSettings.defaultConfirmCascadePath
        s.confirmCascadePath = confirm == "none" ? nil : confirm
        s.confirmMirrored = confirm.contains("profile")
        return s
    }

    /// The scheduled detector for `source`: a file replayed off its clock holds faces for the same
    /// stretch of video as when played at its rate.
    static func schedule(_ settings: DetectionSettings, source: FrameSource?, realtime: Bool) throws -> FaceSchedule {
        let schedule = try FaceSchedule(settings: settings)
        if !realtime, let video = source as? VideoFileSource, let fps = video.nominalFPS {
            schedule.frameInterval = 1 / fps
        }
        return schedule
    }
}
