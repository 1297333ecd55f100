// A TypeDoc plugin for one quirk of this package's API. src/index.ts exports `WebSocket` as a
// constant (the class of src/node/socket/websocket.ts with ws's statics attached) marked
// `@class`, so the reference documents it as the class. The other entry points (ws6455/hub,
// ws6455/cluster, ...) name the class itself in their signatures; this plugin points those
// references at the documented `WebSocket`, so they link to it instead of to nothing.
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const project = context.project;
    const documented = project
      .getReflectionsByKind(ReflectionKind.Class)
      .find((r) => r.name === 'WebSocket' && r.parent?.name === 'ws6455');
    if (documented === undefined) throw new Error('typedoc.plugin.mjs: the WebSocket class of "ws6455" is not in the reference');
    for (const program of context.programs) {
      const file = program.getSourceFiles().find((f) => f.fileName.endsWith('/src/node/socket/websocket.ts'));
      if (file === undefined) continue;
      const checker = program.getTypeChecker();
      const moduleSymbol = checker.getSymbolAtLocation(file);
      const cls = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === 'WebSocket');
      if (cls === undefined) throw new Error('typedoc.plugin.mjs: src/node/socket/websocket.ts exports no WebSocket');
      context.setActiveProgram(program);
      project.registerSymbolId(documented, context.createSymbolId(cls));
      context.setActiveProgram(undefined);
      return;
    }
    throw new Error('typedoc.plugin.mjs: src/node/socket/websocket.ts is not in the program');
  });
}
