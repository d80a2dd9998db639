// Reads a 3D Tiles tileset on disk the way CesiumGS' own tools do, and prints what it holds.
//
//   node read_tileset.mjs DIR        (DIR holds tileset.json)
//
// The tile tree is walked with 3d-tiles-tools' TilesetTraverser; every content is parsed by
// glTF-Transform with its EXT_mesh_features and EXT_structural_metadata implementations (as
// 3d-tiles-tools registers them). Property values are decoded from the raw table buffers by
// the rules of EXT_structural_metadata. Output: one JSON document on stdout.
import path from "node:path";
import { readFile } from "node:fs/promises";
import tools from "3d-tiles-tools";

const { TilesetTraverser, ResourceResolvers, GltfTransform } = tools;

function decode(classProperty, tableProperty, count) {
  const type = classProperty.getType();
  const values = tableProperty.getValues();
  const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
  const out = [];
  if (type === "STRING") {
    const offsets = tableProperty.getStringOffsets();
    const ov = new DataView(offsets.buffer, offsets.byteOffset, offsets.byteLength);
    const text = new TextDecoder();
    for (let i = 0; i < count; i++) {
      const a = ov.getUint32(4 * i, true);
      const b = ov.getUint32(4 * (i + 1), true);
      out.push(text.decode(values.subarray(a, b)));
    }
  } else if (type === "BOOLEAN") {
    for (let i = 0; i < count; i++) out.push(((values[i >> 3] >> (i & 7)) & 1) === 1);
  } else if (type === "SCALAR" && classProperty.getComponentType() === "FLOAT64") {
    for (let i = 0; i < count; i++) out.push(view.getFloat64(8 * i, true));
  } else {
    throw new Error(`unexpected property type ${type}/${classProperty.getComponentType()}`);
  }
  const noData = classProperty.getNoData();
  return out.map((v) => (noData !== null && noData !== undefined && v === noData ? null : v));
}

async function readContent(file) {
  const io = await GltfTransform.getIO();
  const doc = await io.readBinary(new Uint8Array(await readFile(file)));
  const root = doc.getRoot();
  const metadata = root.getExtension("EXT_structural_metadata");
  const result = { vertexCount: 0, featureIdSets: [], tables: [], nodes: [] };
  for (const node of root.listNodes()) {
    const mesh = node.getMesh();
    if (!mesh) continue;
    for (const prim of mesh.listPrimitives()) {
      const positions = prim.getAttribute("POSITION");
      result.nodes.push({
        translation: node.getTranslation(),
        min: positions.getMin([]),
        max: positions.getMax([]),
      });
    }
  }
  if (metadata) {
    const schema = metadata.getSchema();
    for (const table of metadata.listPropertyTables()) {
      const cls = schema.getClass(table.getClass());
      if (!cls) throw new Error(`property table refers to unknown class ${table.getClass()}`);
      const rows = Array.from({ length: table.getCount() }, () => ({}));
      const names = {};
      for (const key of table.listPropertyKeys()) {
        const classProperty = cls.getProperty(key);
        if (!classProperty) throw new Error(`property ${key} is not in class ${table.getClass()}`);
        names[key] = classProperty.getName();
        decode(classProperty, table.getProperty(key), table.getCount()).forEach((v, i) => {
          rows[i][key] = v;
        });
      }
      result.tables.push({ class: table.getClass(), count: table.getCount(), names, rows });
    }
  }
  for (const mesh of root.listMeshes()) {
    for (const prim of mesh.listPrimitives()) {
      const positions = prim.getAttribute("POSITION");
      result.vertexCount += positions.getCount();
      const features = prim.getExtension("EXT_mesh_features");
      for (const fid of features ? features.listFeatureIDs() : []) {
        const ids = prim.getAttribute(`_FEATURE_ID_${fid.getAttribute()}`).getArray();
        const tables = metadata ? metadata.listPropertyTables() : [];
        result.featureIdSets.push({
          featureCount: fid.getFeatureCount(),
          propertyTable: tables.indexOf(fid.getPropertyTable()),
          distinct: [...new Set(ids)].sort((a, b) => a - b),
          vertices: ids.length,
        });
      }
    }
  }
  return result;
}

const dir = path.resolve(process.argv[2]);
const tileset = JSON.parse(await readFile(path.join(dir, "tileset.json"), "utf8"));
const traverser = new TilesetTraverser(dir, ResourceResolvers.createFileResourceResolver(dir), {
  depthFirst: true,
});
const tiles = [];
await traverser.traverse(tileset, async (traversed) => {
  const tile = traversed.asRawTile();
  const parent = traversed.getParent();
  tiles.push({
    path: traversed.path,
    level: traversed.level,
    parentError: parent ? parent.asRawTile().geometricError : tileset.geometricError,
    geometricError: tile.geometricError,
    box: tile.boundingVolume.box ?? null,
    parentBox: parent ? parent.asRawTile().boundingVolume.box : null,
    refine: tile.refine ?? null,
    contents: traversed.getFinalContents().map((c) => c.uri),
  });
  return true;
});
const contents = {};
for (const tile of tiles) {
  for (const uri of tile.contents) contents[uri] = await readContent(path.join(dir, uri));
}
process.stdout.write(JSON.stringify({ asset: tileset.asset, tiles, contents }));
