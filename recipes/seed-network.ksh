# Part of the seed procedure: rudder's network in etcd, then a look at the cluster.
#   kshell run recipes/seed-network.ksh [--var NETWORK=10.0.0.0/16]
etcd health
rudder config set --network ${NETWORK:-10.0.0.0/16}
rudder config
fleet machines
