"""Image work for review: decoding, non-destructive enhancement, plate reading.

OpenCV and onnxruntime are imported inside functions only (ruff TID253); this
package never imports Qt or the UI.
"""
