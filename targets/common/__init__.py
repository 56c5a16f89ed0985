"""Pieces shared by the bundled targets' node services and their harness-side adapters.

``jsonlines`` and ``nodeargs`` run inside the target image (standard library only, never ``harness``);
``adapter`` is harness-side only (it imports ``harness``) and no node module may import it.
"""
