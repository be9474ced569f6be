"""The only Streamlit-aware shared code: cached loaders keyed on plain ids, the current record.

Pages call these (`import ui; ui.require_record()`) and render what `ecgcore` computes; nothing
here computes a medical result. core: frame, data, current record; upload: the window the models
read of a long upload; models: loaded models and the results cached from them; browse: the score
file (browse by outcome) and the clinical reading (measurements, calipers).
"""
from .browse import (CALIPER_KEY, caliper_click, clear_calipers, measurements, outcome_columns,  # noqa: F401
                     scores)
from .core import (APP_FILE, CLASSES, MODEL_ORDER, QUALITY_FLAGS, UPLOAD_KEY, available_ids,  # noqa: F401
                   current, current_key, data_root, data_status, demo_message, demo_notice, ensure_frame,
                   index, optional, ptbxl_record, record_for_display, record_for_models, require_module,
                   require_record, set_current_ptbxl, set_current_upload, sync_current, upload_key, weights_dir)
from .models import (EXPLAIN_SLOT, TORCH_THREADS, assessment, card, explanation, model_summary,  # noqa: F401
                     models, require_models, show_model_errors, view_of, wave_evidence)
from .upload import (UPLOAD_FULL_KEY, UPLOAD_WINDOW_KEY, accept_upload, change_upload_window,  # noqa: F401
                     upload_summary, upload_window)
