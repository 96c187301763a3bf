# rudder-network.ksh: rudder's overlay network written into etcd (the seed's
# `etcdctl mk /coreos.com/network/config '{"Network":"10.0.0.0/16"}'`), then the
# leases the nodes' rudders took from it.
#
# Variables:
#   NETWORK      the overlay network, one /24 per host (default 10.0.0.0/16, the seed's)
# Needs:         the current context's etcd.endpoint answering (seed-context.ksh sets it)
# Leaves:        /coreos.com/network/config in etcd. Run again, it changes nothing; a
#                different config already there is not replaced (the line fails and
#                says so: `rudder config set --network … --force` replaces it)
#
#   kshell run recipes/rudder-network.ksh --var NETWORK=10.0.0.0/16
etcd health
rudder config set --network ${NETWORK:-10.0.0.0/16}
rudder config
# one lease per node whose rudder has started (none yet before the nodes boot)
rudder subnets
