"""fertui's training recipe: FER-2013 data, torchvision ResNets, export to the engine's format."""

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
