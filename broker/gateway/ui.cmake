# The topology page (gateway/ui.c, its assets in gateway/ui/ compiled in)
# and GET /topology.svg (gateway/ui_svg.c: Graphviz lays the graph out).
pkg_check_modules(GVC REQUIRED IMPORTED_TARGET libgvc libcgraph)
target_sources(broker_app PRIVATE gateway/ui.c gateway/ui_svg.c)
target_link_libraries(broker_app PUBLIC PkgConfig::GVC)
cubemesh_embed(broker_app ui_index_html ${CMAKE_CURRENT_SOURCE_DIR}/gateway/ui/index.html)
cubemesh_embed(broker_app ui_app_js ${CMAKE_CURRENT_SOURCE_DIR}/gateway/ui/app.js)
cubemesh_embed(broker_app ui_style_css ${CMAKE_CURRENT_SOURCE_DIR}/gateway/ui/style.css)
