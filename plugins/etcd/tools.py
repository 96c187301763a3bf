"""etcdctl 0.4.6, taken from inside the etcd 0.4.6 release archive."""

from kshell import Release, Tool

_BASE = "https://github.com/coreos/etcd/releases/download/v0.4.6"

# CoreOS published no SHA-256 for these archives (only an md5 for the linux one, via
# Kubernetes' salt scripts), so every platform is trust-on-first-use.
ETCDCTL = Tool(
    name="etcdctl",
    version="0.4.6",
    help="etcd's command-line client",
    releases={
        "linux-amd64": Release(
            f"{_BASE}/etcd-v0.4.6-linux-amd64.tar.gz", "tar.gz", "etcd-v0.4.6-linux-amd64/etcdctl"
        ),
        "darwin-amd64": Release(
            f"{_BASE}/etcd-v0.4.6-darwin-amd64.zip", "zip", "etcd-v0.4.6-darwin-amd64/etcdctl"
        ),
        "windows-amd64": Release(
            f"{_BASE}/etcd-v0.4.6-windows-amd64.zip",
            "zip",
            "etcd-v0.4.6-windows-amd64/etcdctl.exe",
        ),  # fmt: skip
    },
    version_args=("--version",),
    version_env={"ETCDCTL_API": "2"},  # 0.4.6 ignores it; 2.x/3.x need it for --version
    version_pattern=r"etcdctl version:? v?(\d+\.\d+\.\d+)",
)
