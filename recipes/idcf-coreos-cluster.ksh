# idcf-coreos-cluster.ksh: the seed's cluster on IDCF Cloud: the machines
# (idcf-machines.ksh: ISO, cloud-configs, an etcd VM, three nodes), then, once they boot,
# the context (seed-context.ksh), rudder's network (rudder-network.ksh) and the nodes'
# leases. The nodes boot while etcd has no network config yet: rudder retries until
# rudder-network.ksh writes it.
#
# Variables:
#   ZONE, OFFERING, DISK_OFFERING, SSH_KEY, ETCD_IP, PREFIX, ISO, ISO_URL, CONFIGS
#                   passed on to idcf-machines.ksh (the first five required)
#   ETCD            the etcd URL for the nodes and the context (default http://ETCD_IP:4001)
#   BOOT_TIMEOUT    seconds to wait for etcd to answer and for the first lease (default 600)
#   NETWORK, NAME, MASTER   passed on to rudder-network.ksh and seed-context.ksh
# Needs:            the context's IDCF region and API keys (see `context`); etcd at ETCD
#                   reachable from here once the etcd VM has booted (a VPN, or run kshell
#                   inside the network)
# Leaves:           what idcf-machines.ksh leaves, the context NAME (default idcf) in use,
#                   rudder's network in etcd, a lease per node that has booted
#
#   kshell run recipes/idcf-coreos-cluster.ksh --var ZONE=tesla --var OFFERING=standard.S4 \
#       --var DISK_OFFERING=100GB --var SSH_KEY=~/.ssh/deis.pub --var ETCD_IP=10.1.1.245
set BOOT_TIMEOUT=600
set ETCD=http://${ETCD_IP}:4001
include idcf-machines.ksh
include seed-context.ksh
wait --timeout ${BOOT_TIMEOUT} --interval 10 etcd health
include rudder-network.ksh
# a node's rudder takes its lease once it has booted
wait --timeout ${BOOT_TIMEOUT} --interval 10 etcd ls /coreos.com/network/subnets
fleet machines
rudder subnets
