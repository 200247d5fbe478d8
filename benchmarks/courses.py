"""
Synthetic courses for the benchmarks: realistic shapes, exact sizes, seeded.

A course is a tree of :class:`Node` objects (block type, block id, field values,
children) that is cheap to copy and to change, and becomes an
:class:`~olx_modulestore.OlxCourse` with :class:`~olx_modulestore.OlxCourseBuilder`
(the stand-in modulestore serves it as Studio would).

Shape. Every fan-out below the course is drawn uniformly from the ranges of real courses:
3-10 subsections per section, 2-8 units per subsection and 1-6 components per unit.
Components are html (40 %), video (18 %), problem (30 %), openassessment (3 %),
drag-and-drop-v2 (5 %) and discussion (4 %); the problems, open assessments and
drag-and-drops (38 %) are scorable, i.e. synced as assessments. Such sections hold
about 150 blocks each, so 10-30 sections make courses of 1,500-4,500 blocks: to reach
an exact size the generator adds sections until the course has ``size`` blocks (the
course block included; the last section is cut short), which gives the 1k course about
7 sections, the 10k one about 65 and the 50k one about 330.

Block ids are 32 hex digits, as Studio makes them; titles are 2-6 words; 40 % of the
subsections are graded (with a format and a due date); problems have a weight.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from olx_modulestore import OlxCourse, OlxCourseBuilder
from opaque_keys.edx.locator import CourseLocator

SECTIONS = (10, 30)
SUBSECTIONS = (3, 10)
UNITS = (2, 8)
COMPONENTS = (1, 6)
COMPONENT_MIX = (
    ("html", 40),
    ("video", 18),
    ("problem", 30),
    ("openassessment", 3),
    ("drag-and-drop-v2", 5),
    ("discussion", 4),
)
SCORABLE = frozenset({"problem", "openassessment", "drag-and-drop-v2"})
STRUCTURE = ("chapter", "sequential", "vertical")
_WORDS = (
    "introduction linear equations functions limits derivatives integrals vectors matrices probability "
    "statistics review practice exam homework lab project reading lecture summary quiz graphs sequences "
    "series proofs logic sets numbers fractions geometry triangles circles area volume rates change "
    "models data analysis estimation sampling inference regression optimization applications problems "
    "worked examples challenge final midterm week module part chapter overview key ideas"
).split()
_FORMATS = ("Homework", "Lab", "Midterm Exam", "Final Exam", "Quiz")
_COURSE_START = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass(slots=True)
class Node:
    """One block: type, id, settings fields and (for containers) children in order."""

    block_type: str
    block_id: str
    fields: dict[str, Any]
    children: list[Node] = field(default_factory=list)

    def copy(self) -> Node:
        """A deep copy (fields dicts copied, values shared: they are immutable)."""
        return Node(self.block_type, self.block_id, dict(self.fields), [child.copy() for child in self.children])

    def walk(self) -> Iterator[tuple[Node | None, Node]]:
        """``(parent, node)`` for this node's subtree, pre-order (this node's parent is None)."""
        stack: list[tuple[Node | None, Node]] = [(None, self)]
        while stack:
            parent, node = stack.pop()
            yield parent, node
            stack.extend((node, child) for child in reversed(node.children))

    def size(self) -> int:
        """Blocks in this subtree, this one included."""
        return sum(1 for _ in self.walk())


class SyntheticCourse:
    """A generated course; change it with the methods below, then :meth:`build` it."""

    def __init__(self, course_key: CourseLocator, root: Node):
        self.course_key = course_key
        self.root = root

    @classmethod
    def generate(cls, size: int, *, seed: int, org: str = "BenchX", number: str | None = None) -> SyntheticCourse:
        """A course of exactly ``size`` blocks (the course block included), the same for the same seed."""
        rng = random.Random(seed)
        key = CourseLocator(org, number or f"B{size}S{seed}", "2026")
        root = Node(
            "course",
            "course",
            {
                "display_name": _title(rng, 3, 6),
                "start": _COURSE_START,
                "end": _COURSE_START + timedelta(days=120),
                "language": "en",
            },
        )
        budget = [size - 1]

        def take() -> bool:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

        week = 0
        while budget[0] > 0:
            take()
            chapter = Node("chapter", _block_id(rng), {"display_name": f"Week {week + 1}: {_title(rng, 2, 4)}"})
            chapter.fields["start"] = _COURSE_START + timedelta(weeks=week)
            root.children.append(chapter)
            week += 1
            for _ in range(rng.randint(*SUBSECTIONS)):
                if not take():
                    break
                sequential = Node("sequential", _block_id(rng), {"display_name": _title(rng, 2, 5)})
                if rng.random() < 0.4:
                    sequential.fields.update(
                        graded=True,
                        format=rng.choice(_FORMATS),
                        due=_COURSE_START + timedelta(weeks=week, days=rng.randint(0, 6)),
                    )
                chapter.children.append(sequential)
                for _ in range(rng.randint(*UNITS)):
                    if not take():
                        break
                    vertical = Node("vertical", _block_id(rng), {"display_name": _title(rng, 2, 5)})
                    sequential.children.append(vertical)
                    for _ in range(rng.randint(*COMPONENTS)):
                        if not take():
                            break
                        vertical.children.append(_component(rng))
        return cls(key, root)

    def copy(self) -> SyntheticCourse:
        return SyntheticCourse(self.course_key, self.root.copy())

    def build(self) -> OlxCourse:
        """The course as the stand-in modulestore serves it."""
        builder = OlxCourseBuilder(self.course_key, **self.root.fields)
        stack = [(builder.root, child) for child in reversed(self.root.children)]
        while stack:
            parent_key, node = stack.pop()
            key = builder.add_child(parent_key, node.block_type, node.block_id, **node.fields)
            stack.extend((key, child) for child in reversed(node.children))
        return builder.build(edited_on=_COURSE_START)

    # Sizes and lookups.

    def block_count(self) -> int:
        return self.root.size()

    def entity_count(self) -> int:
        """Blocks the plugin syncs: course, sections, subsections, units and scorable components."""
        return sum(
            1
            for _, node in self.root.walk()
            if node.block_type in ("course", *STRUCTURE) or node.block_type in SCORABLE
        )

    def sections(self) -> list[Node]:
        return self.root.children

    def largest_section(self) -> Node:
        """The section with the most blocks (the first of them)."""
        return max(self.root.children, key=Node.size)

    # Changes, each returning a changed copy and what it did.

    def renamed(self, rng: random.Random) -> tuple[SyntheticCourse, str]:
        """One synced block (a subsection) renamed."""
        course = self.copy()
        sequential = rng.choice([node for _, node in course.root.walk() if node.block_type == "sequential"])
        sequential.fields["display_name"] = sequential.fields["display_name"] + " (revised)"
        return course, "one subsection renamed"

    def with_changed_share(self, rng: random.Random, share: float) -> tuple[SyntheticCourse, str]:
        """``share`` of the synced entities changed: most renamed, some (un)graded or re-weighted."""
        course = self.copy()
        synced = [node for _, node in course.root.walk() if node.block_type in STRUCTURE or node.block_type in SCORABLE]
        chosen = rng.sample(synced, max(1, round(len(synced) * share)))
        for node in chosen:
            if node.block_type == "sequential" and rng.random() < 0.3:
                node.fields["graded"] = not node.fields.get("graded", False)
            elif node.block_type == "problem" and rng.random() < 0.3:
                node.fields["weight"] = float(node.fields.get("weight", 1.0)) + 1.0
            else:
                node.fields["display_name"] = node.fields["display_name"] + " v2"
        return course, f"{len(chosen)} entities changed ({share:.0%})"

    def reordered(self) -> tuple[SyntheticCourse, str]:
        """In the largest section, its last subsection moved to the front (every subsection's position changes)."""
        course = self.copy()
        section = course.largest_section()
        section.children.insert(0, section.children.pop())
        return course, f"last of {len(section.children)} subsections of the largest section moved to the front"

    def subsection_moved(self) -> tuple[SyntheticCourse, str]:
        """
        A whole subtree moved: the largest subsection of the largest section moved to the end
        of another section. (A section cannot move: it is a child of the course, so "a
        topic moved" is at most a reorder; this is the largest move the outline allows.)
        """
        course = self.copy()
        source = course.largest_section()
        sequential = max(source.children, key=Node.size)
        source.children.remove(sequential)
        target = next(section for section in course.root.children if section is not source)
        target.children.append(sequential)
        size = sequential.size()
        return course, f"a subsection ({size} blocks) moved to another section"


def _block_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _title(rng: random.Random, shortest: int, longest: int) -> str:
    words = rng.choices(_WORDS, k=rng.randint(shortest, longest))
    return " ".join(words).capitalize()


_KINDS = [kind for kind, _ in COMPONENT_MIX]
_WEIGHTS = [weight for _, weight in COMPONENT_MIX]


def _component(rng: random.Random) -> Node:
    kind = rng.choices(_KINDS, _WEIGHTS)[0]
    fields: dict[str, Any] = {"display_name": _title(rng, 2, 6)}
    if kind == "problem":
        fields["weight"] = float(rng.choice((1, 1, 1, 2, 5, 10)))
    return Node(kind, _block_id(rng), fields)
