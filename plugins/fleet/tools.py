"""fleetctl 0.8.1 from the fleet release archive (amd64 only: linux tar.gz, darwin zip)."""

from kshell import Release, Tool

_BASE = "https://github.com/coreos/fleet/releases/download/v0.8.1"

# No checksum of any kind was published for fleet 0.8.1: trust on first use.
FLEETCTL = Tool(
    name="fleetctl",
    version="0.8.1",
    help="fleet's command-line client",
    releases={
        "linux-amd64": Release(
            f"{_BASE}/fleet-v0.8.1-linux-amd64.tar.gz",
            "tar.gz",
            "fleet-v0.8.1-linux-amd64/fleetctl",
        ),  # fmt: skip
        "darwin-amd64": Release(
            f"{_BASE}/fleet-v0.8.1-darwin-amd64.zip", "zip", "fleet-v0.8.1-darwin-amd64/fleetctl"
        ),
    },
    version_args=("version",),
    version_pattern=r"fleetctl version v?(\d+\.\d+\.\d+)",
)
