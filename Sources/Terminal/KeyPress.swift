// Keys as the monitor understands them, and what each one does. Kept apart from the ncurses
// adapter so the mapping is tested without a terminal.

/// A key read from the terminal.
public enum KeyPress: Equatable, Sendable {
    case character(Character)
    case tab
    case backTab
    case escape
    case enter
    /// The window changed size.
    case resize
    /// A function or cursor key the monitor does not use (its curses code).
    case other(Int32)
}

/// What the user asked the monitor to do.
public enum MonitorAction: Equatable, Sendable {
    case quit
    case toggleFreeze
    /// 0-based position in the model list (keys 1, 2, 3).
    case selectModel(Int)
    case nextModel
    case nextFace
    case previousFace
    case toggleSmoothing
    case dump
    case toggleHelp
    case toggleTimeline
    case redraw

    /// The action for a key; nil when the key does nothing. While the help overlay is shown
    /// any key closes it (and q still quits).
    public static func forKey(_ key: KeyPress, helpShown: Bool = false) -> MonitorAction? {
        if key == .resize { return .redraw }
        if helpShown {
            if key == .character("q") || key == .character("Q") { return .quit }
            return .toggleHelp
        }
        switch key {
        case .escape, .character("q"), .character("Q"): return .quit
        case .character(" "): return .toggleFreeze
        case .character("1"): return .selectModel(0)
        case .character("2"): return .selectModel(1)
        case .character("3"): return .selectModel(2)
        case .character("4"): return .selectModel(3)
        case .character("m"), .character("M"): return .nextModel
        case .tab: return .nextFace
        case .backTab: return .previousFace
        case .character("s"), .character("S"): return .toggleSmoothing
        case .character("d"), .character("D"): return .dump
        case .character("?"), .character("h"): return .toggleHelp
        case .character("t"), .character("T"): return .toggleTimeline
        default: return nil
        }
    }
}
