"""etcd plugin."""
