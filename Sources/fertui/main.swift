// fertui's entry point: picks the subcommand and maps errors to messages and exit codes.
// Each subcommand lives in its own file (MonitorCommand, PredictCommand, EvalCommand, BenchCommand).

import Engine
import Foundation

let version = "0.1.0"

let usage = """
    fertui \(version): live facial-expression monitor in the terminal (ResNet18/34/50, FER-2013)

    Usage:
      fertui [monitor] [options]        live monitor (the default command)
      fertui predict [options] IMAGE... classify the faces in images
      fertui eval --data DIR [options]  accuracy, F1, AUC and confusion on a class-folder dataset
      fertui bench [options]            forward-pass latency of the engine
      fertui detect --source S [options] faces, ids and detect times per frame (measuring)
      fertui help COMMAND | --help      this text, or a command's options
      fertui --version

    Run 'fertui COMMAND --help' for a command's options and examples.
    """

/// The subcommands, each with its one-line summary shown by `fertui help`.
let commands: [String: (help: String, run: ([String]) throws -> Int32)] = [
    "monitor": (MonitorCommand.help, MonitorCommand.run),
    "predict": (PredictCommand.help, PredictCommand.run),
    "eval": (EvalCommand.help, EvalCommand.run),
    "bench": (BenchCommand.help, BenchCommand.run),
    "detect": (DetectCommand.help, DetectCommand.run),
]

func main() -> Int32 {
    var args = Array(CommandLine.arguments.dropFirst())
    if args.first == "--version" || args.first == "-V" {
        print("fertui \(version) (OpenBLAS \(BLASCore.current) kernels)")
        return 0
    }
    if args.first == "--help" || args.first == "-h" || args.first == "help" && args.count == 1 {
        print(usage)
        return 0
    }
    if args.first == "help", args.count > 1 {
        guard let cmd = commands[args[1]] else {
            FileHandle.standardError.write(
                "fertui: no command '\(args[1])'; commands: \(commands.keys.sorted().joined(separator: ", "))\n")
            return 2
        }
        print(cmd.help)
        return 0
    }
    var name = "monitor"
    if let first = args.first, !first.hasPrefix("-") {
        guard commands[first] != nil else {
            FileHandle.standardError.write(
                "fertui: no command '\(first)'; "
                    + "commands: \(commands.keys.sorted().joined(separator: ", ")) (see 'fertui --help')\n"
            )
            return 2
        }
        name = first
        args.removeFirst()
    }
    let command = commands[name]!
    if args.contains("--help") || args.contains("-h") {
        print(name == "bench" && args.contains("--pipeline") ? PipelineBench.help : command.help)
        return 0
    }
    do {
        return try command.run(args)
    } catch let error as UsageError {
        FileHandle.standardError.write("fertui \(name): \(error.message)\n")
        return 2
    } catch {
        FileHandle.standardError.write("fertui \(name): \(error)\n")
        return 1
    }
}

/// Starts this program again with OPENBLAS_CORETYPE set when OpenBLAS loaded slower kernels than
/// the CPU can run (see `BLASCore`): the variable is read only when the library loads, before any
/// of fertui's code. Nothing has been opened or drawn yet; if the exec fails, fertui goes on as is.
func relaunchWithFastestBLASKernels() {
    guard let core = BLASCore.betterForThisProcess() else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    unsetenv("OPENBLAS_CORETYPE")
}

extension FileHandle {
    func write(_ string: String) {
        write(string.data(using: .utf8)!)
    }
}

relaunchWithFastestBLASKernels()
exit(main())
