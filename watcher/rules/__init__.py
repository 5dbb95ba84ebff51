"""Rule profiles and the config file: YAML -> frozen dataclasses, validated with FILE:LINE:COL messages.

Import what you need from the modules (`watcher.rules.profile`, `watcher.rules.config`): importing the package
alone loads nothing, so a one-shot run on a built-in profile never pays for the YAML parser.
"""
