// The interactive monitor: the pipeline's render stage drawing into the terminal, keys read on
// the same serial queue, and the terminal given back on q, Esc, Ctrl-C, Ctrl-\\, SIGTERM, SIGHUP or an error.

import Dispatch
import Foundation
import Pipeline

/// Runs a pipeline full-screen until the user quits.
public final class LiveMonitor: @unchecked Sendable {
    public let pipeline: MonitorPipeline
    public let dumpDirectory: String
    private let screen: CursesScreen
    /// Touched only on the render queue.
    private var composer: ScreenComposer
    private var grid = CellGrid(width: 0, height: 0)
    private let quit = DispatchSemaphore(value: 0)
    private var quitReason: String?
    private let quitLock = NSLock()

    private let color: ColorChoice
    private let dither: Bool
    private let mirror: Bool

    /// `color` is resolved against the terminal once it is open (see `ColorMode.resolve`).
    /// `mirror`: show the picture mirrored (selfie view); boxes follow, dumps and logs keep the
    /// source's coordinates.
    public init(
        pipeline: MonitorPipeline, color: ColorChoice, dither: Bool = false, mirror: Bool = false,
        dumpDirectory: String
    ) {
        self.pipeline = pipeline
        self.dumpDirectory = dumpDirectory
        self.screen = CursesScreen(queue: pipeline.renderQueue)
        self.composer = ScreenComposer()
        self.color = color
        self.dither = dither
        self.mirror = mirror
    }

    /// Opens the screen, starts the pipeline, and returns once the user quits (or a signal
    /// arrives); the terminal is restored before it returns or throws.
    public func run() throws {
        CursesScreen.restoreAtExit()
        CrashRestore.install()
        let queue = pipeline.renderQueue
        try queue.sync {
            try screen.open()
            // Asked for by name, 24-bit codes go out even where terminfo says less.
            if color == .truecolor { screen.depth = .direct }
            let mode = ColorMode.resolve(color, depth: screen.depth, environment: ProcessInfo.processInfo.environment)
            composer.rasterizer = HalfBlockRasterizer(colorMode: mode, dither: dither)
            composer.rasterizer.mirrored = mirror
        }

        // Signals become a normal quit, so the terminal is restored on the way out.
        let signals = QuitSignals(QuitSignals.standard) { [weak self] in self?.requestQuit("signal \($0)") }
        defer { signals.cancel() }

        pipeline.render = { [unowned self] snapshot in self.draw(snapshot) }
        let keys = DispatchSource.makeTimerSource(queue: queue)
        keys.schedule(deadline: .now(), repeating: .milliseconds(15))
        keys.setEventHandler { [unowned self] in
            for key in self.screen.readKeys() { self.handle(key) }
        }
        keys.resume()
        pipeline.start()
        queue.async { self.draw(self.pipeline.snapshot()) }

        quit.wait()
        keys.cancel()
        pipeline.stop()
        queue.sync {
            pipeline.render = nil
            screen.close()
        }
    }

    /// Why `run` ended ("key", "signal 15", a log error), once it has.
    public var quitReasonText: String {
        quitLock.lock()
        defer { quitLock.unlock() }
        return quitReason.map { $0 == "key" ? "quit" : $0 } ?? "running"
    }

    /// Ends `run` from any thread.
    public func requestQuit(_ reason: String) {
        quitLock.lock()
        let first = quitReason == nil
        if first { quitReason = reason }
        quitLock.unlock()
        if first { quit.signal() }
    }

    /// On the render queue: compose the snapshot at the terminal's size and send the changes.
    private func draw(_ snapshot: MonitorSnapshot) {
        let size = screen.size()
        if grid.width != size.width || grid.height != size.height {
            grid = CellGrid(width: size.width, height: size.height)
        }
        composer.compose(snapshot, into: &grid)
        screen.draw(grid)
    }

    /// On the render queue.
    private func handle(_ key: KeyPress) {
        guard let action = MonitorAction.forKey(key, helpShown: composer.showHelp) else { return }
        switch action {
        case .quit: requestQuit("key")
        case .toggleFreeze: pipeline.toggleFreeze()
        case .selectModel(let index): pipeline.selectModel(index: index)
        case .nextModel: pipeline.selectNextModel()
        case .nextFace: pipeline.selectNextFace()
        case .previousFace: pipeline.selectNextFace(backwards: true)
        case .toggleSmoothing: pipeline.toggleSmoothing()
        case .dump:
            pipeline.setMessage("dumping...")
            // The screen as it is now, beside the frame: `cat screen.ans` shows it again.
            let screenText = Data(AnsiEncoder.document(grid, depth: screen.depth))
            pipeline.requestDump(to: dumpDirectory, extraFiles: [("screen.ans", screenText)])
        case .toggleHelp:
            composer.showHelp.toggle()
            pipeline.requestRender()
        case .toggleTimeline:
            composer.showTimeline.toggle()
            pipeline.requestRender()
        case .redraw:
            screen.invalidate()
            pipeline.requestRender()
        }
    }
}
