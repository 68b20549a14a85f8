"""Run a node the same way everywhere: a multi-threaded executor, optional lifecycle autostart, clean shutdown."""
from __future__ import annotations

from typing import Any

from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


def autostart_lifecycle(node: Any) -> bool:
    """Configure then activate a lifecycle node; return True when it is active."""
    from rclpy.lifecycle import TransitionCallbackReturn

    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error("configure failed; the node stays unconfigured (see the messages above)")
        return False
    return node.trigger_activate() == TransitionCallbackReturn.SUCCESS


def spin_node(node: Any, threads: int = 6, autostart: bool = False) -> None:
    """Spin ``node`` until Ctrl-C or shutdown, then shut the executor down before the node is destroyed.

    Call inside ``with rclpy.init(args=args):``. With ``autostart`` a lifecycle node is configured and activated first.
    """
    executor = MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        if autostart:
            autostart_lifecycle(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown(timeout_sec=2.0)
        node.destroy_node()
