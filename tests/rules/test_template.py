"""`config init`: sync folders are found under a fake home and the rendered config validates."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.rules.config import PROFILE_KEYS, TOP_KEYS, WATCH_KEYS, Config, load_config
from watcher.rules.template import SyncFolder, discover_sync_folders, render_config

SYNCTHING_XML = """\
<configuration version="37">
  <folder id="abcd-1234" label="Phone Camera" path="~/Sync/Camera" type="receiveonly"></folder>
  <folder id="default" label="Default Folder" path="{home}/Sync" type="sendreceive"></folder>
  <folder id="gone" label="Gone" path="{home}/not-there"></folder>
</configuration>
"""


def make_folders(home: Path, *relatives: str) -> None:
    for relative in relatives:
        (home / relative).mkdir(parents=True)


def load_rendered(home: Path, text: str) -> Config:
    path = home / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={"HOME": str(home)})


def test_discovers_syncthing_and_known_folders(tmp_path: Path) -> None:
    make_folders(
        tmp_path,
        "Sync/Camera",
        ".config/syncthing",
        "Nextcloud/InstantUpload",
        "ownCloud/Photos/Camera",
        "Dropbox/Camera Uploads",
        "Pictures/PhotoSync",
        "Pictures/Camera",
    )
    (tmp_path / ".config/syncthing/config.xml").write_text(
        SYNCTHING_XML.format(home=tmp_path), encoding="utf-8"
    )
    found = discover_sync_folders(tmp_path)
    assert [(folder.application, folder.path.relative_to(tmp_path).as_posix()) for folder in found] == [
        ("Syncthing", "Sync/Camera"),
        ("Syncthing", "Sync"),
        ("Nextcloud", "Nextcloud/InstantUpload"),
        ("ownCloud", "ownCloud/Photos/Camera"),
        ("Dropbox", "Dropbox/Camera Uploads"),
        ("PhotoSync", "Pictures/PhotoSync"),
        ("Pictures", "Pictures/Camera"),
    ]
    assert found[0].label == "Phone Camera"

    config = load_rendered(tmp_path, render_config(found, home=tmp_path))
    # ~/Sync contains ~/Sync/Camera, already watched: offered commented out.
    assert [watch.name for watch in config.watches] == [
        "phone-camera",
        "instantupload",
        "camera",
        "camera-uploads",
        "photosync",
        "camera-2",
    ]
    assert config.watches[3].source == tmp_path / "Dropbox" / "Camera Uploads"
    assert all(watch.destination.parent == tmp_path / "ShareSafe" for watch in config.watches)


def test_syncthing_state_folder_and_fallback(tmp_path: Path) -> None:
    make_folders(tmp_path, "Sync")
    assert [folder.path for folder in discover_sync_folders(tmp_path)] == [tmp_path / "Sync"]
    make_folders(tmp_path, ".local/state/syncthing", "Phone")
    xml = f'<configuration><folder id="p" path="{tmp_path}/Phone"/></configuration>'
    (tmp_path / ".local/state/syncthing/config.xml").write_text(xml, encoding="utf-8")
    assert [folder.label for folder in discover_sync_folders(tmp_path)] == ["p"]


def test_broken_syncthing_config_is_ignored(tmp_path: Path) -> None:
    make_folders(tmp_path, ".config/syncthing", "Sync")
    (tmp_path / ".config/syncthing/config.xml").write_text("<configuration><folder", encoding="utf-8")
    assert [folder.path for folder in discover_sync_folders(tmp_path)] == [tmp_path / "Sync"]


def test_nothing_found_renders_a_valid_config_without_watches(tmp_path: Path) -> None:
    assert discover_sync_folders(tmp_path) == []
    text = render_config([], home=tmp_path)
    assert "# - name:" in text
    assert load_rendered(tmp_path, text).watches == ()


def test_a_source_holding_the_share_folder_is_commented_out(tmp_path: Path) -> None:
    found = [SyncFolder("Syncthing", tmp_path, "Everything"), SyncFolder("Pictures", tmp_path / "Cam", "Cam")]
    text = render_config(found, home=tmp_path)
    assert "not watched: it overlaps ~/ShareSafe" in text
    assert [watch.name for watch in load_rendered(tmp_path, text).watches] == ["cam"]


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_characters="/\\x00"), min_size=1, max_size=20))
def test_any_folder_name_round_trips(name: str) -> None:
    if not name.isprintable() or name in (".", ".."):
        return
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        found = [SyncFolder("Syncthing", home / "Sync" / name, name)]
        config = load_rendered(home, render_config(found, home=home))
        assert [watch.source for watch in config.watches] == [home / "Sync" / name]


def test_template_documents_every_key_and_its_sample_profile_validates(tmp_path: Path) -> None:
    text = render_config([], home=tmp_path)
    for key in (*TOP_KEYS, *WATCH_KEYS, *PROFILE_KEYS, "extends"):
        assert f"{key}:" in text, f"the template does not mention {key}"
    lines = text.splitlines()
    start = lines.index("# profiles:")
    end = lines.index("", start)
    uncommented = "\n".join(line.removeprefix("# ") for line in lines[start:end])
    config = load_rendered(tmp_path, uncommented + "\n")
    assert config.profiles["grandparents"].time == "date"
