"""Reconfigures an ensemble with kazoo's own API, as a user would: prints one JSON line.

Usage: kazoo-reconfig.py HOSTS LEAVING_ID
Reads /zookeeper/config, tries a reconfig from a wrong version (expects
BadVersionError), then removes LEAVING_ID from the version it read, as the
super user (digest super:test).
"""
import json
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError

hosts, leaving = sys.argv[1], sys.argv[2]
zk = KazooClient(hosts=hosts, auth_data=[("digest", "super:test")], timeout=10)
zk.start(timeout=15)
try:
    before, _ = zk.get("/zookeeper/config")
    version = int(before.decode().strip().splitlines()[-1].split("=")[1], 16)
    try:
        zk.reconfig(joining=None, leaving=leaving, new_members=None, from_config=version + 1)
        bad = "none"
    except BadVersionError:
        bad = "BadVersionError"
    data, stat = zk.reconfig(joining=None, leaving=leaving, new_members=None, from_config=version)
    print(json.dumps({"before": before.decode(), "bad": bad, "after": data.decode(), "version": stat.version, "mzxid": stat.mzxid}))
finally:
    zk.stop()
    zk.close()
