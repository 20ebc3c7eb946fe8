// Where model files are found: a name (resnet18, resnet34, resnet50) in the models folder, or a path.

import Foundation

/// Resolves `--model` values to safetensors paths.
public enum ModelCatalog {
    /// The names `--model` accepts besides a path.
    public static let names = ["resnet18", "resnet34", "resnet50"]

    /// "resnet18"|"resnet34"|"resnet50" -> <dir>/<name>.safetensors, dir = modelsDir ?? $FERTUI_MODELS
    /// ?? the checkout's Assets/models (found by walking up from the executable's path and from the cwd);
    /// anything ending .safetensors or containing "/" is a path. Throws a clear error naming where it looked.
    public static func resolve(_ nameOrPath: String, modelsDir: String?) throws -> String {
        let fm = FileManager.default
        if nameOrPath.hasSuffix(".safetensors") || nameOrPath.contains("/") {
            guard fm.fileExists(atPath: nameOrPath) else {
                throw EngineError(
                    "model file \(nameOrPath) does not exist; "
                        + "give a path to a .safetensors file or one of \(names.joined(separator: ", "))"
                )
            }
            return nameOrPath
        }
        guard names.contains(nameOrPath) else {
            throw EngineError(
                "unknown model '\(nameOrPath)': expected \(names.joined(separator: ", ")) "
                    + "or a path to a .safetensors file"
            )
        }
        let env = ProcessInfo.processInfo.environment["FERTUI_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
        let dir: String
        let how: String
        if let modelsDir = modelsDir {
            dir = modelsDir
            how = "--models-dir"
        } else if let env = env {
            dir = env
            how = "FERTUI_MODELS"
        } else if let assets = assetsDirectory() {
            dir = (assets as NSString).appendingPathComponent("models")
            how = "the checkout's Assets/models"
        } else {
            throw EngineError(
                "model \(nameOrPath): no models folder: no --models-dir, FERTUI_MODELS is unset, "
                    + "and no checkout with Assets/ was found above \(executableDirectory() ?? "the executable") "
                    + "or \(fm.currentDirectoryPath); pass --models-dir DIR or a .safetensors path"
            )
        }
        let path = (dir as NSString).appendingPathComponent("\(nameOrPath).safetensors")
        guard fm.fileExists(atPath: path) else {
            throw EngineError(
                "model \(nameOrPath): \(path) does not exist (looked in \(how)); "
                    + "train and export it (make train) or pass --models-dir DIR or a .safetensors path"
            )
        }
        return path
    }

    /// The checkout's Assets folder: the first folder holding both Package.swift and Assets/,
    /// walking up from the executable's folder, then from the current directory.
    public static func assetsDirectory() -> String? {
        let fm = FileManager.default
        var starts: [String] = []
        if let e = executableDirectory() { starts.append(e) }
        starts.append(fm.currentDirectoryPath)
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                let assets = dir.appendingPathComponent("Assets")
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                    fm.fileExists(atPath: assets.path, isDirectory: &isDir), isDir.boolValue
                {
                    return assets.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }

    static func executableDirectory() -> String? {
        guard let exe = Bundle.main.executablePath ?? CommandLine.arguments.first, !exe.isEmpty else { return nil }
        let resolved = URL(fileURLWithPath: exe).resolvingSymlinksInPath()
        return resolved.deletingLastPathComponent().path
    }
}
