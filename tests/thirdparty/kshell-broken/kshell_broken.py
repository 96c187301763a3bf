"""A plugin whose import fails: kshell must report it and keep working."""

raise RuntimeError("this plugin is broken on purpose")
