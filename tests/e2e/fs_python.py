# Files under /tmp (identical natively and under husk), then the standard
# library pieces that need a working filesystem and dynamic loading.
import hashlib, json, os, sqlite3, ssl

d = "/tmp/husk-e2e-py"
if os.path.isdir(d):
    for n in os.listdir(d):
        os.remove(os.path.join(d, n))
    os.rmdir(d)
os.makedirs(d)
with open(d + "/a.txt", "w") as f:
    f.write("line one\nline two\n")
os.rename(d + "/a.txt", d + "/b.txt")
with open(d + "/b.txt", "a") as f:
    f.write("line three\n")
print(open(d + "/b.txt").read().splitlines())
print(sorted(os.listdir(d)), os.path.getsize(d + "/b.txt"))
os.symlink("b.txt", d + "/link")
print(os.readlink(d + "/link"), open(d + "/link").read().count("line"))
os.remove(d + "/link")
os.remove(d + "/b.txt")
os.rmdir(d)
print("gone:", not os.path.exists(d))
print(json.dumps({"six_times_seven": 6 * 7}, sort_keys=True))
print(hashlib.sha256(b"husk").hexdigest())
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(i,) for i in range(10)])
print(db.execute("select sum(x) from t").fetchone())
print(ssl.OPENSSL_VERSION.split()[0])
