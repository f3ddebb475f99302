# Drives the local cloud (`otabench cloud serve`) with the PyPI clients of Particle's API,
# unchanged: pyparticleio 0.1.11 (with hammock, sseclient, requests), spyrk 0.0.4 and
# particle-wait 0.2.0. Prints "ok <step>" per step and exits 1 at the first failure
# ("FAIL <step>: <detail>"); exits 3 when a client is not installed.
#
#   python3 cloud-python.py DEVICE_ID MODULE.bin
#
# Environment: PARTICLE_API_BASE_URL and PARTICLE_ACCESS_TOKEN (as `cloud serve` prints them).
# DEVICE_ID must be the only device the cloud knows, in a product.
import os
import sys
import threading
import time

try:
    import requests
    from hammock import Hammock
    from pyparticleio.ParticleCloud import ParticleCloud
    from spyrk import SparkCloud
    import particlewait
except ImportError as missing:
    print("SKIP a client is not installed: {}".format(missing))
    sys.exit(3)

BASE = os.environ["PARTICLE_API_BASE_URL"]
TOKEN = os.environ["PARTICLE_ACCESS_TOKEN"]
DEVICE, MODULE = sys.argv[1], sys.argv[2]


def check(condition, what, detail=""):
    if not condition:
        print("FAIL {}: {!r}".format(what, detail), flush=True)
        os._exit(1)
    print("ok {}".format(what), flush=True)


def within(seconds, event, attempt):
    """Calls attempt until event is set, waiting between tries; a stream the client opens in a
    thread of its own may not be open yet when the first try is made."""
    deadline = time.monotonic() + seconds
    while not event.is_set() and time.monotonic() < deadline:
        attempt()
        event.wait(2)
    return event.is_set()


# pyparticleio: GET /v1/devices?access_token=, GET /v1/devices/ID?access_token= (indexing
# functions and variables), its login at /v1/devices/oauth/token with HTTP Basic, and errors
# read as error + ": " + error_description.
cloud = ParticleCloud(TOKEN, api_prefix=BASE + "/v1")
check(len(cloud.devices) == 1, "pyparticleio lists the devices", list(cloud.devices))
device = next(iter(cloud.devices.values()))
check(device.device_id == DEVICE, "pyparticleio reads the device", device.device_id)
logged_in = ParticleCloud("bench@otabench.local", TOKEN, api_prefix=BASE + "/v1")
check(logged_in.access_token == TOKEN, "pyparticleio logs in with the token as the password")
try:
    ParticleCloud("not-the-token", api_prefix=BASE + "/v1")
    check(False, "pyparticleio refuses a wrong token")
except Exception as error:
    check(str(error).startswith("invalid_token: "), "pyparticleio says why a wrong token is refused", str(error))

# Subscribe (GET /v1/devices/events/bench/?access_token=, through sseclient) and publish (a form:
# private=True&ttl=60, which must answer exactly 200). The data is not ASCII: without the
# stream's charset, requests would decode it as ISO-8859-1.
seen = []
arrived = threading.Event()
device.cloud_subscribe("bench/", lambda event: (seen.append(event), arrived.set()))
check(within(30, arrived, lambda: device.publish("bench/py", "caf\u00e9")), "pyparticleio's published event arrives on its subscription")
check(seen[0]["data"] == "caf\u00e9" and seen[0]["ttl"] == 60 and seen[0]["coreid"] == "api", "the event's data, ttl and coreid", seen[0])

# spyrk: its login at /oauth/token with HTTP Basic spark:spark, then the devices by name as
# namedtuples of every key of the list (connected read unconditionally).
spark = SparkCloud("bench@otabench.local", TOKEN, spark_api=Hammock(BASE))
check(spark.access_token == TOKEN, "spyrk logs in")
devices = spark.devices
check([each.id for each in devices.values()] == [DEVICE], "spyrk lists the devices", list(devices))
check(getattr(spark, next(iter(devices))).connected is False, "spyrk reads a device by its name")

# particle-wait: its URL is Particle's, rewritten here; Bearer from $ACCESS_TOKEN; it watches a
# device's stream for an `event:` line. A flash of the device publishes spark/flash/status.
particlewait.get = lambda url, **options: requests.get(url.replace("https://api.particle.io", BASE), **options)
os.environ["ACCESS_TOKEN"] = TOKEN
threading.Thread(target=particlewait.connection_thread_body, args=(DEVICE, "spark/flash/status"), daemon=True).start()
with open(MODULE, "rb") as module:
    firmware = module.read()


def flash():
    answer = requests.put(BASE + "/v1/devices/" + DEVICE, headers={"Authorization": "Bearer " + TOKEN},
                          files={"file": ("app.bin", firmware, "application/octet-stream")})
    check(answer.status_code == 200, "a flash for particle-wait to see", answer.text)


check(within(30, particlewait.triggered, flash), "particle-wait sees the device's event")
os._exit(0)
