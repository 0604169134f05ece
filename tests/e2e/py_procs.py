# Python's process and thread machinery: threads with locks and
# conditions, subprocess of ls and of python itself, a process pool,
# futures, and signal.alarm.
import concurrent.futures
import multiprocessing
import signal
import subprocess
import sys
import threading

lock = threading.Lock()
cond = threading.Condition(lock)
state = {"count": 0, "done": 0}


def work():
    for _ in range(2000):
        with lock:
            state["count"] += 1
    with cond:
        state["done"] += 1
        cond.notify_all()


def square(x):
    return x * x


if __name__ == "__main__":
    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    with cond:
        cond.wait_for(lambda: state["done"] == 16)
    for t in threads:
        t.join()
    print("threads:", state["count"])
    ls = subprocess.run(["ls", "/usr/lib/python3.11/json"], capture_output=True, text=True)
    print("ls:", ls.returncode, sorted(ls.stdout.split())[:4])
    py = subprocess.run([sys.executable, "-c", "import os; print(6 * 7, flush=True); os._exit(3)"],
                        capture_output=True, text=True)
    print("python child:", py.stdout.strip(), py.returncode)
    with multiprocessing.Pool(2) as pool:
        print("pool:", pool.map(square, range(12)))
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        print("thread futures:", sum(ex.map(square, range(1000))))
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        print("process futures:", list(ex.map(square, range(5))))
    got = []
    signal.signal(signal.SIGALRM, lambda s, f: got.append(s))
    signal.alarm(1)
    signal.pause()
    print("alarm:", got)
