# Script mode (cmake -P): write the completion script the tool prints for one
# shell, so the installed completions are the ones `aggtrades completion` gives.
#   cmake -DTOOL=path/to/aggtrades -DSHELL_NAME=bash|zsh -DOUT=file -P completion.cmake
execute_process(COMMAND "${TOOL}" completion "${SHELL_NAME}"
                OUTPUT_FILE "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}")
  message(FATAL_ERROR "'${TOOL} completion ${SHELL_NAME}' failed (${rc})")
endif()
