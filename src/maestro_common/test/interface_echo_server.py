"""Test helper process: serves every maestro_interfaces service and action with a recognisable answer."""
import sys

import rclpy
from rclpy.action import ActionServer
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

from maestro_common.interface_catalog import action_types, service_types


class EchoServer(rclpy.node.Node):
    """Answers each service with error_msg = its type name; each action sends one feedback and succeeds."""

    def __init__(self) -> None:
        super().__init__("interface_echo_server")
        group = ReentrantCallbackGroup()
        self._handles = []
        for name, srv in service_types().items():
            self._handles.append(self.create_service(srv, f"/echo/{name}", self._make_service(name), callback_group=group))
        for name, act in action_types().items():
            self._handles.append(ActionServer(self, act, f"/echo/{name}", self._make_action(name, act),
                                              callback_group=group))

    @staticmethod
    def _make_service(name):
        def handle(request, response):
            response.error_code = 0
            response.error_msg = name
            return response
        return handle

    @staticmethod
    def _make_action(name, act):
        def execute(goal_handle):
            goal_handle.publish_feedback(act.Feedback())
            goal_handle.succeed()
            result = act.Result()
            result.error_msg = name
            return result
        return execute


def main() -> None:
    with rclpy.init(args=sys.argv):
        node = EchoServer()
        executor = MultiThreadedExecutor()
        executor.add_node(node)
        print("ready", flush=True)
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            executor.shutdown()


if __name__ == "__main__":
    main()
