"""kshell's builtin plugins, each registered through the ``kshell`` entry-point group."""
