# The seed's operator exported these in every terminal; kshell keeps them in a context.
#   kshell run recipes/seed-context.ksh --var ETCD=http://10.1.1.245:4001 \
#       --var MASTER=http://127.0.0.1:8080 --var NAME=idcf
context add ${NAME:-idcf} --set etcd.endpoint=${ETCD} --set fleet.endpoint=${ETCD} \
    --set kube.master=${MASTER:-http://127.0.0.1:8080}
use ${NAME:-idcf}
context
