"""Valid sample values of every entity type's contract fields."""

from typing import Any

SAMPLE_FIELDS: dict[str, dict[str, Any]] = {
    "course": {
        "title": "Mathematics",
        "org": "VirtuX",
        "number": "MATH101",
        "run": "2026",
        "start": "2026-09-01T00:00:00Z",
        "end": None,
        "language": "en",
        "self_paced": False,
        "description": "Numbers, algebra and geometry for Form 4.",
        "grading_policy": {
            "graders": [
                {"type": "Homework", "short_label": "HW", "min_count": 2, "drop_count": 0, "weight": 0.4},
                {"type": "Final Exam", "short_label": None, "min_count": 1, "drop_count": 0, "weight": 0.6},
            ],
            "cutoffs": {"Pass": 0.5},
        },
        "other_settings": {"examination_level": "MSCE", "academic_class": "Form 4"},
    },
    "topic": {
        "title": "Algebra",
        "start": "2026-09-01T00:00:00Z",
        "visible_to_staff_only": False,
        "hide_from_toc": False,
    },
    "subtopic": {
        "title": "Equations",
        "start": "2026-09-01T00:00:00Z",
        "due": "2026-10-01T23:59:59Z",
        "graded": True,
        "format": "Homework",
        "visible_to_staff_only": False,
        "hide_from_toc": False,
    },
    "unit": {"title": "Linear equations", "visible_to_staff_only": False},
    "assessment": {
        "title": "Quiz",
        "block_type": "problem",
        "weight": 1.5,
        "graded": True,
        "points": 1.5,
        "selection": [
            {"kind": "random", "container_id": "block-v1:VirtuX+MATH101+2026+type@itembank+block@bank", "count": 2}
        ],
    },
}

#: The fields revision 2 of the contract added, which a revision-1 client's creates lack.
REVISION_2_FIELDS: dict[str, tuple[str, ...]] = {
    "course": ("description", "grading_policy", "other_settings"),
    "assessment": ("points", "selection"),
}
