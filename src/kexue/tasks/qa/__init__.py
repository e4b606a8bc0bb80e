"""DGCNN reading-comprehension QA (kexue.fm/archives/5409, 6906)."""
