"""Edit a copy of a course export the way an author edits a course in Studio."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from olx_modulestore import LOAD_ERROR_ATTRIBUTE


class ExportEditor:
    """A working copy of an OLX export with Studio-like edits (on blocks that have their own file)."""

    def __init__(self, source: Path, workdir: Path):
        self.path = workdir / "export"
        shutil.copytree(source, self.path)

    def rename(self, block_type: str, url_name: str, title: str) -> None:
        """Change a block's display name."""
        self.set_attribute(block_type, url_name, "display_name", title)

    def set_attribute(self, block_type: str, url_name: str, name: str, value: str) -> None:
        """Set a field of a block, as in its settings editor."""
        path = self._file(block_type, url_name)
        tree = ET.parse(path)
        tree.getroot().set(name, value)
        tree.write(path, encoding="utf-8")

    def remove_attribute(self, block_type: str, url_name: str, name: str) -> None:
        """Unset a field of a block (it takes its default again)."""
        path = self._file(block_type, url_name)
        tree = ET.parse(path)
        tree.getroot().attrib.pop(name, None)
        tree.write(path, encoding="utf-8")

    def move(self, block_type: str, url_name: str, parent_type: str, parent_url: str, index: int | None = None) -> None:
        """Move a child (with its subtree) under another parent."""
        element = self._detach(block_type, url_name)
        self._insert(parent_type, parent_url, element, index)

    def reorder(self, parent_type: str, parent_url: str, child_urls: list[str]) -> None:
        """Put a parent's children in the given order (by url_name)."""
        path = self._file(parent_type, parent_url)
        tree = ET.parse(path)
        root = tree.getroot()
        children = {child.get("url_name"): child for child in list(root)}
        for child in children.values():
            root.remove(child)
        for url in child_urls:
            root.append(children.pop(url))
        for rest in children.values():
            root.append(rest)
        tree.write(path, encoding="utf-8")

    def delete(self, block_type: str, url_name: str) -> None:
        """Delete a block: its reference disappears from its parent."""
        self._detach(block_type, url_name)

    def add_child(self, parent_type: str, parent_url: str, xml: str, index: int | None = None) -> None:
        """Add an inline child block under a parent."""
        self._insert(parent_type, parent_url, ET.fromstring(xml), index)

    def break_block(self, block_type: str, url_name: str, message: str = "the XBlock failed to load") -> None:
        """
        Make a block fail to load, as after an XBlock upgrade that breaks its class.

        The stand-in modulestore then gives an error block in its place (see stand_ins/README.rst).
        """
        self.set_attribute(block_type, url_name, LOAD_ERROR_ATTRIBUTE, message)

    def repair_block(self, block_type: str, url_name: str) -> None:
        """Let a block broken by :meth:`break_block` load again."""
        path = self._file(block_type, url_name)
        tree = ET.parse(path)
        tree.getroot().attrib.pop(LOAD_ERROR_ATTRIBUTE, None)
        tree.write(path, encoding="utf-8")

    def _file(self, block_type: str, url_name: str) -> Path:
        if block_type == "course":
            return next((self.path / "course").glob("*.xml"))
        return self.path / block_type / f"{url_name}.xml"

    def _detach(self, block_type: str, url_name: str) -> ET.Element:
        for path in sorted(self.path.glob("*/*.xml")):
            tree = ET.parse(path)
            for parent in tree.iter():
                for child in list(parent):
                    if child.tag == block_type and child.get("url_name") == url_name:
                        parent.remove(child)
                        tree.write(path, encoding="utf-8")
                        return child
        raise LookupError(f"no reference to {block_type} {url_name}")

    def _insert(self, parent_type: str, parent_url: str, element: ET.Element, index: int | None) -> None:
        path = self._file(parent_type, parent_url)
        tree = ET.parse(path)
        root = tree.getroot()
        root.insert(len(root) if index is None else index, element)
        tree.write(path, encoding="utf-8")


def edit_sample_course(editor: ExportEditor) -> None:
    """
    An author's round of edits to the sample course.

    Renames a subsection, moves one to another section, reorders two units, deletes a unit
    and adds a problem (``expr_new``).
    """
    editor.rename("sequential", "numbers_intro", "Why Numbers Really Matter")
    editor.move("sequential", "algebra_expressions", "chapter", "geometry", index=0)
    editor.reorder("sequential", "numbers_homework", ["hw_ordering", "hw_fractions"])
    editor.delete("vertical", "eq_reflection")
    editor.add_child(
        "vertical",
        "expr_practice",
        '<problem url_name="expr_new" display_name="Simplify 3x + 2x" weight="2">'
        "<numericalresponse answer='5'><formulaequationinput/></numericalresponse></problem>",
    )
