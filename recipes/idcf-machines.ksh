# idcf-machines.ksh: the seed's machines on IDCF Cloud, IDCF's part only: a CoreOS ISO,
# the cloud-configs, an etcd VM with a fixed address, then three Kubernetes nodes (fleet
# role=kubernetes, rudder, docker on the rudder subnet), each deployed and waited for
# until IDCF says Running. No cluster is contacted: idcf-coreos-cluster.ksh includes this,
# then waits for the machines to boot.
#
# Variables:
#   ZONE            IDCF zone name or id (required)
#   OFFERING        service offering for every VM, e.g. standard.S4 (required;
#                   `idcf offerings` lists them)
#   DISK_OFFERING   a fixed-size disk offering for the root disk an ISO VM needs
#                   (required; `idcf disk-offerings` lists them)
#   SSH_KEY         public key file written into the cloud-configs (required)
#   ETCD_IP         the etcd VM's address, written into every cloud-config (the seed used
#                   10.1.1.245) (required)
#   ETCD            the etcd URL in the nodes' cloud-config (default http://ETCD_IP:4001)
#   PREFIX          VM name prefix (default k8s: k8s-etcd, k8s-node1 … k8s-node3)
#   ISO             the name the ISO is registered under (default coreos-alpha)
#   ISO_URL         the CoreOS ISO (default: the alpha channel's, CoreOS 444 in the seed)
#   CONFIGS         where the cloud-configs are written (default ./cloud-configs)
# Needs:            the context's IDCF region and API keys (see `context`)
# Leaves:           the ISO registered, four running VMs (booting), the cloud-configs
#                   etcd.yml and node.yml in CONFIGS. Three nodes: for more, add
#                   `idcf deploy` lines like the last one.
#
#   kshell run recipes/idcf-machines.ksh --var ZONE=tesla --var OFFERING=standard.S4 \
#       --var DISK_OFFERING=100GB --var SSH_KEY=~/.ssh/deis.pub --var ETCD_IP=10.1.1.245
set PREFIX=k8s
set ISO=coreos-alpha
set ISO_URL=http://alpha.release.core-os.net/amd64-usr/current/coreos_production_iso_image.iso
set CONFIGS=cloud-configs
set ETCD=http://${ETCD_IP}:4001
idcf iso register ${ISO} ${ISO_URL} --zone ${ZONE}
idcf cloud-config etcd --ip ${ETCD_IP} --ssh-key ${SSH_KEY} --out ${CONFIGS}/etcd.yml
idcf cloud-config node --etcd ${ETCD} --ssh-key ${SSH_KEY} --out ${CONFIGS}/node.yml
# etcd first: the nodes' fleet and rudder need it
idcf deploy ${PREFIX}-etcd --iso ${ISO} --offering ${OFFERING} \
    --disk-offering ${DISK_OFFERING} --zone ${ZONE} --userdata ${CONFIGS}/etcd.yml
idcf deploy ${PREFIX}-node1 --iso ${ISO} --offering ${OFFERING} \
    --disk-offering ${DISK_OFFERING} --zone ${ZONE} --userdata ${CONFIGS}/node.yml
idcf deploy ${PREFIX}-node2 --iso ${ISO} --offering ${OFFERING} \
    --disk-offering ${DISK_OFFERING} --zone ${ZONE} --userdata ${CONFIGS}/node.yml
idcf deploy ${PREFIX}-node3 --iso ${ISO} --offering ${OFFERING} \
    --disk-offering ${DISK_OFFERING} --zone ${ZONE} --userdata ${CONFIGS}/node.yml
idcf vms
