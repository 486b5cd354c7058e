/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading every event of one trace with libbabeltrace2 (trace-read.h). */
#include <babeltrace2/babeltrace.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/log.h"
#include "trace-read.h"

struct reader {
	lh_trace_event_fn fn;
	void *arg;
};

static bt_graph_simple_sink_component_consume_func_status read_consume(
		bt_message_iterator *it, void *user_data)
{
	struct reader *r = user_data;
	bt_message_array_const msgs;
	uint64_t count, i;

	switch (bt_message_iterator_next(it, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	for (i = 0; i < count; i++) {
		const bt_message *msg = msgs[i];

		if (bt_message_get_type(msg) == BT_MESSAGE_TYPE_EVENT) {
			const bt_event *event = bt_message_event_borrow_event_const(msg);
			const bt_stream_class *sc = bt_stream_borrow_class_const(
				bt_event_borrow_stream_const(event));
			int64_t ns = 0;
			bool has_ns = bt_stream_class_borrow_default_clock_class_const(sc) &&
				bt_clock_snapshot_get_ns_from_origin(
					bt_message_event_borrow_default_clock_snapshot_const(msg),
					&ns) == BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK;

			r->fn(event, has_ns, ns, r->arg);
		}
		bt_message_put_ref(msg);
	}
	return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

const bt_component_class_source *lh_trace_fs_class(const bt_plugin **plugin)
{
	const bt_component_class_source *fs_class;

	*plugin = NULL;
	if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE, plugin) !=
			BT_PLUGIN_FIND_STATUS_OK) {
		ERR("The babeltrace2 \"ctf\" plugin is not installed");
		return NULL;
	}
	fs_class = bt_plugin_borrow_source_component_class_by_name_const(*plugin, "fs");
	if (!fs_class) {
		ERR("The babeltrace2 \"ctf\" plugin has no \"fs\" source");
		bt_plugin_put_ref(*plugin);
		*plugin = NULL;
	}
	return fs_class;
}

/* src.ctf.fs on the trace, one sink per output port. */
int lh_trace_read(const bt_component_class_source *fs_class, const struct lh_trace *t,
		int verbose, lh_trace_event_fn fn, void *arg)
{
	struct reader r = { .fn = fn, .arg = arg };
	const bt_component_source *src;
	bt_value *params = bt_value_map_create();
	bt_value *inputs = NULL;
	bt_graph *graph = bt_graph_create(0);
	uint64_t i, nr_ports;
	char why[128];
	int ret = -1;

	if (lh_trace_unreadable(t, why, sizeof(why))) {
		ERR("%s: %s", t->dir, why);
		goto end;
	}
	if (!params || !graph ||
			bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) !=
				BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK ||
			bt_value_array_append_string_element(inputs, t->dir) !=
				BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK) {
		ERR("Out of memory");
		goto end;
	}
	if (bt_graph_add_source_component(graph, fs_class, "src", params,
			verbose > 1 ? BT_LOGGING_LEVEL_INFO : BT_LOGGING_LEVEL_NONE, &src) !=
			BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		ERR("%s: src.ctf.fs cannot read this trace", t->dir);
		goto end;
	}
	nr_ports = bt_component_source_get_output_port_count(src);
	for (i = 0; i < nr_ports; i++) {
		const bt_component_sink *sink;
		char name[32];

		snprintf(name, sizeof(name), "read-%" PRIu64, i);
		if (bt_graph_add_simple_sink_component(graph, name, NULL, read_consume, NULL, &r,
				&sink) != BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
				bt_graph_connect_ports(graph,
					bt_component_source_borrow_output_port_by_index_const(src, i),
					bt_component_sink_borrow_input_port_by_index_const(sink, 0),
					NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
			ERR("%s: cannot build the reading graph", t->dir);
			goto end;
		}
	}
	if (bt_graph_run(graph) != BT_GRAPH_RUN_STATUS_OK) {
		ERR("%s: reading the trace failed", t->dir);
		goto end;
	}
	ret = 0;
end:
	bt_current_thread_clear_error();
	bt_graph_put_ref(graph);
	bt_value_put_ref(params);
	return ret;
}

int lh_field_u64(const bt_field *s, const char *name, uint64_t *out)
{
	const bt_field *f;

	if (!s || bt_field_get_class_type(s) != BT_FIELD_CLASS_TYPE_STRUCTURE) {
		return -1;
	}
	f = bt_field_structure_borrow_member_field_by_name_const(s, name);
	if (!f) {
		return -1;
	}
	if (bt_field_class_type_is(bt_field_get_class_type(f),
			BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
		*out = bt_field_integer_unsigned_get_value(f);
	} else if (bt_field_class_type_is(bt_field_get_class_type(f),
			BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
		*out = (uint64_t) bt_field_integer_signed_get_value(f);
	} else {
		return -1;
	}
	return 0;
}

const char *lh_field_string(const bt_field *s, const char *name)
{
	const bt_field *f;

	if (!s || bt_field_get_class_type(s) != BT_FIELD_CLASS_TYPE_STRUCTURE) {
		return NULL;
	}
	f = bt_field_structure_borrow_member_field_by_name_const(s, name);
	if (!f || bt_field_get_class_type(f) != BT_FIELD_CLASS_TYPE_STRING) {
		return NULL;
	}
	return bt_field_string_get_value(f);
}
